"""Which device and dtype to train on: mps, then cuda, then cpu, unless `--device` says otherwise.

The compute dtype (`--dtype auto|float32|bfloat16`). Weights, LoRA parameters and optimizer
state always stay float32; "bfloat16" means the forward and backward matmuls run under bf16
autocast. `auto` picks bf16 where the hardware has it:
- cpu: bf16 on CPUs with AVX512-BF16 or AMX (measured on a 2-core EPYC: a 2048x640x2048
  matmul runs at 72 GFLOP/s in fp32 and 162 in bf16); elsewhere fp32, since CPUs without it
  emulate bf16 slowly.
- cuda: bf16 where the GPU supports it (Ampere and later), else fp32. float16 is never chosen:
  Gemma's activations overflow it.
- mps: bf16 only where this torch and macOS run a bf16 matmul on MPS (macOS 14+), else fp32.
  Ops MPS lacks fall back to the CPU because intone sets PYTORCH_ENABLE_MPS_FALLBACK=1 (unless
  you set it yourself) before torch is imported.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "bfloat16")


class DeviceError(ValueError):
    """The requested device is not available here."""


@dataclass(frozen=True)
class Probe:
    """What this machine offers; `probe()` asks torch, tests pass their own."""

    cuda: bool
    mps: bool
    cuda_bf16: bool = False
    cpu_bf16: bool = False
    """The CPU has native bf16 matmuls (AVX512-BF16 or AMX)."""
    mps_bf16: bool = False


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """AVX512-BF16 or AMX-BF16 in the CPU flags (Linux /proc/cpuinfo; other systems: no)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                cpuinfo = fh.read(1 << 20)
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def _mps_runs_bf16() -> bool:
    import torch

    try:
        x = torch.ones((2, 2), device="mps", dtype=torch.bfloat16)
        return bool((x @ x).float().sum().item() == 8.0)
    except Exception:  # noqa: BLE001 - older macOS/torch raise various errors for bf16 on MPS
        return False


def probe() -> Probe:
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return Probe(
        cuda=cuda, mps=mps, cuda_bf16=cuda and torch.cuda.is_bf16_supported(),
        cpu_bf16=cpu_has_bf16(), mps_bf16=mps and _mps_runs_bf16(),
    )


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


def bf16_available(device: str, found: Probe) -> bool:
    if device.startswith("cuda"):
        return found.cuda_bf16
    if device == "mps":
        return found.mps_bf16
    return found.cpu_bf16


def select_dtype(requested: str | None, device: str, found: Probe) -> str:
    """The compute dtype, as a torch attribute name: float32 or bfloat16 (autocast)."""
    wanted = (requested or "auto").lower()
    if wanted not in DTYPES:
        raise DeviceError(f"--dtype {requested!r}: unknown dtype; use auto, float32 or bfloat16")
    if wanted == "float32":
        return "float32"
    if bf16_available(device, found):
        return "bfloat16"
    if wanted == "bfloat16":
        what = {"cpu": "this CPU has neither AVX512-BF16 nor AMX", "mps": "this macOS/torch cannot run bf16 on MPS"}
        reason = what.get(device, "this GPU does not support bf16")
        raise DeviceError(f"--dtype bfloat16: {reason} (device {device}); use --dtype float32 or auto")
    return "float32"


def dtype_name(device: str, found: Probe) -> str:
    """The dtype `--dtype auto` picks for a device."""
    return select_dtype("auto", device, found)


def autocast(device: str, dtype: str):
    """The context a forward/backward pass runs in: bf16 autocast, or nothing for fp32."""
    import contextlib

    import torch

    if dtype != "bfloat16":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":", 1)[0], dtype=torch.bfloat16)


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
