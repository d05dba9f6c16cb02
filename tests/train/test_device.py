"""Device selection (mps > cuda > cpu, --device overrides) and dtype, with probes instead of GPUs."""

from __future__ import annotations

import pytest

from intone.train import device as dev
from intone.train.device import (
    DeviceError,
    Probe,
    cpu_has_bf16,
    dtype_name,
    prepare_environment,
    select_device,
    select_dtype,
)

NONE = Probe(cuda=False, mps=False)
CUDA = Probe(cuda=True, mps=False, cuda_bf16=True)
OLD_CUDA = Probe(cuda=True, mps=False, cuda_bf16=False)
MPS = Probe(cuda=False, mps=True)
BOTH = Probe(cuda=True, mps=True, cuda_bf16=True)


@pytest.mark.parametrize(
    ("requested", "found", "expected"),
    [
        (None, NONE, "cpu"),
        ("auto", CUDA, "cuda"),
        ("auto", MPS, "mps"),
        ("auto", BOTH, "mps"),
        ("cpu", BOTH, "cpu"),
        ("cuda", BOTH, "cuda"),
        ("cuda:1", CUDA, "cuda:1"),
        ("MPS", MPS, "mps"),
    ],
)
def test_selection_order_and_override(requested, found, expected):
    assert select_device(requested, found) == expected


@pytest.mark.parametrize(("requested", "found"), [("cuda", NONE), ("mps", CUDA), ("tpu", BOTH)])
def test_unavailable_or_unknown_device_is_an_error_that_says_what_to_do(requested, found):
    with pytest.raises(DeviceError, match="--device"):
        select_device(requested, found)


def test_dtype_follows_device():
    assert dtype_name("cpu", BOTH) == "float32"
    assert dtype_name("cpu", Probe(cuda=False, mps=False, cpu_bf16=True)) == "bfloat16"
    assert dtype_name("mps", BOTH) == "float32"  # no bf16 matmul on this MPS
    assert dtype_name("mps", Probe(cuda=False, mps=True, mps_bf16=True)) == "bfloat16"
    assert dtype_name("cuda", CUDA) == "bfloat16"
    assert dtype_name("cuda:0", OLD_CUDA) == "float32"


def test_explicit_dtype_and_bf16_where_there_is_none():
    bf16_cpu = Probe(cuda=False, mps=False, cpu_bf16=True)
    assert select_dtype("float32", "cpu", bf16_cpu) == "float32"
    assert select_dtype("bfloat16", "cpu", bf16_cpu) == "bfloat16"
    for device, found in (("cpu", NONE), ("cuda", OLD_CUDA), ("mps", MPS)):
        with pytest.raises(DeviceError, match=f"device {device}") as err:
            select_dtype("bfloat16", device, found)
        assert "--dtype float32" in str(err.value)
    with pytest.raises(DeviceError, match="--dtype 'float16'"):
        select_dtype("float16", "cpu", NONE)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu vme avx2 avx512f avx512_bf16 avx512_vnni", True),
        ("fpu avx2 amx_bf16 amx_tile", True),
        ("fpu vme sse4_2 avx avx2 fma f16c", False),  # this project's 2-core EPYC: bf16 is emulated, ~200x slower
    ],
)
def test_cpu_bf16_is_read_from_the_cpu_flags(flags, expected):
    assert cpu_has_bf16(f"processor\t: 0\nmodel name\t: X\nflags\t\t: {flags}\n") is expected
    assert cpu_has_bf16("no flags line") is False


def test_mps_fallback_is_enabled_on_macos_only(monkeypatch):
    monkeypatch.delenv("PYTORCH_ENABLE_MPS_FALLBACK", raising=False)
    prepare_environment("auto", platform="linux")
    assert "PYTORCH_ENABLE_MPS_FALLBACK" not in dev.os.environ
    prepare_environment("cpu", platform="darwin")
    assert "PYTORCH_ENABLE_MPS_FALLBACK" not in dev.os.environ
    prepare_environment("auto", platform="darwin")
    assert dev.os.environ["PYTORCH_ENABLE_MPS_FALLBACK"] == "1"
    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "0")  # the user's own choice wins
    prepare_environment("mps", platform="darwin")
    assert dev.os.environ["PYTORCH_ENABLE_MPS_FALLBACK"] == "0"


def test_probe_asks_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(dev, "cpu_has_bf16", lambda: False)
    monkeypatch.setattr(dev, "_mps_runs_bf16", lambda: True)
    found = dev.probe()
    assert found == Probe(cuda=True, mps=True, cuda_bf16=True, cpu_bf16=False, mps_bf16=True)
    assert select_device("auto", found) == "mps"


def test_allocator_tuning_is_linux_only(monkeypatch):
    import sys

    expected = sys.platform.startswith("linux")
    assert dev.tune_allocator() is expected
    monkeypatch.setattr(dev.sys, "platform", "darwin")
    assert dev.tune_allocator() is False
