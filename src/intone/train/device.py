"""Which device and dtype to train on: mps, then cuda, then cpu, unless `--device` says otherwise.

dtype follows the device:
- cpu: float32 (CPU bfloat16 matmuls are slow on most CPUs and lose precision).
- cuda: bfloat16 where the GPU supports it, else float32 (float16 would need loss scaling, and
  Gemma's activations overflow in float16).
- mps: float32. bfloat16 on MPS needs macOS 14+ and some ops are still missing for it; float16
  overflows Gemma's activations. Ops MPS lacks fall back to the CPU because intone sets
  PYTORCH_ENABLE_MPS_FALLBACK=1 (unless you set it yourself) before torch is imported.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

DEVICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(ValueError):
    """The requested device is not available here."""


@dataclass(frozen=True)
class Probe:
    """What this machine offers; `probe()` asks torch, tests pass their own."""

    cuda: bool
    mps: bool
    cuda_bf16: bool = False


def probe() -> Probe:
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return Probe(cuda=cuda, mps=mps, cuda_bf16=cuda and torch.cuda.is_bf16_supported())


def select_device(requested: str | None, found: Probe) -> str:
    """`requested` is None/"auto", "cpu", "cuda", "cuda:N" or "mps"."""
    wanted = (requested or "auto").lower()
    if wanted == "auto":
        if found.mps:
            return "mps"
        if found.cuda:
            return "cuda"
        return "cpu"
    kind = wanted.split(":", 1)[0]
    if kind not in DEVICES[1:]:
        raise DeviceError(f"--device {requested!r}: unknown device; use auto, cpu, cuda, cuda:N or mps")
    if kind == "cuda" and not found.cuda:
        raise DeviceError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")
    if kind == "mps" and not found.mps:
        raise DeviceError("--device mps: MPS (Apple GPU) is not available here; use --device cpu or auto")
    return wanted


def dtype_name(device: str, found: Probe) -> str:
    """The training dtype for a device, as a torch attribute name."""
    if device.startswith("cuda") and found.cuda_bf16:
        return "bfloat16"
    return "float32"


def prepare_environment(requested: str | None, platform: str | None = None) -> None:
    """Call before torch is imported: lets ops MPS lacks run on the CPU instead of failing."""
    platform = platform or sys.platform
    wants_mps = (requested or "auto").lower() in ("auto", "mps")
    if platform == "darwin" and wants_mps:
        os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")


def tune_allocator() -> bool:
    """Keep freed memory in the process (Linux glibc) instead of returning it to the OS.

    PyTorch on the CPU allocates a fresh tensor for nearly every op. glibc serves blocks over
    its mmap threshold with fresh pages and trims freed heap back to the OS, so each step pays
    page faults again; in VMs and containers that made a training step about 3x slower. Raising
    the thresholds keeps those pages mapped. Returns whether the setting was applied.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # musl or no libc.so.6
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    ok = libc.mallopt(m_mmap_threshold, 32 << 20)  # the largest glibc accepts
    ok &= libc.mallopt(m_trim_threshold, 1 << 30)
    ok &= libc.mallopt(m_top_pad, 64 << 20)
    return bool(ok)
