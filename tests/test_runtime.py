import pytest
import torch

from moviegpt import runtime
from moviegpt.errors import UserError
from moviegpt.runtime import (
    bf16_supported,
    orthogonalisation_dtype,
    resolve_compile,
    resolve_device,
    resolve_dtype,
    resolve_inference_dtype,
)

CPU = torch.device("cpu")


def test_auto_device_is_an_available_one():
    assert resolve_device("auto").type in {"cuda", "mps", "cpu"}
    assert resolve_device("cpu") == CPU


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "gpu"])
def test_unknown_device_is_refused(name):
    with pytest.raises(UserError, match="--device"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_clear_error():
    with pytest.raises(UserError, match="CUDA is not available"):
        resolve_device("cuda:0")


def test_dtype_auto_is_float32_on_a_cpu_and_explicit_choices_are_kept():
    """On a CPU the training run measures whether bfloat16 is faster (training/dtype_probe.py); auto alone is fp32."""
    assert resolve_dtype("auto", CPU) == torch.float32
    assert resolve_dtype("bfloat16", CPU) == torch.bfloat16
    assert resolve_dtype("float32", CPU) == torch.float32
    with pytest.raises(UserError, match="float16 needs a CUDA device"):
        resolve_dtype("float16", CPU)


def test_bfloat16_counts_as_fast_on_a_cpu_only_where_a_product_measured_faster(monkeypatch):
    """oneDNN's "supported" also holds where it only emulates bfloat16: the product is timed, and a CPU that
    oneDNN calls unsupported is never timed."""
    runtime.cpu_bf16_fast.cache_clear()
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    monkeypatch.setattr(runtime, "timed", lambda work: pytest.fail("timed although oneDNN has no bfloat16"))
    assert runtime.cpu_bf16_fast() is False and bf16_supported(CPU) is False
    runtime.cpu_bf16_fast.cache_clear()
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    seconds = iter([1.0] * 5 + [30.0] * 5)  # float32 first, then an emulated (30x slower) bfloat16
    monkeypatch.setattr(runtime, "timed", lambda work: next(seconds))
    assert runtime.cpu_bf16_fast() is False
    runtime.cpu_bf16_fast.cache_clear()
    seconds = iter([1.0] * 5 + [0.4] * 5)  # native bfloat16 units
    monkeypatch.setattr(runtime, "timed", lambda work: next(seconds))
    assert runtime.cpu_bf16_fast() is True
    runtime.cpu_bf16_fast.cache_clear()


def test_muon_orthogonalises_in_bfloat16_only_where_it_is_fast(monkeypatch):
    assert orthogonalisation_dtype(CPU, torch.float32) == torch.float32
    assert orthogonalisation_dtype(CPU, torch.bfloat16) == torch.bfloat16
    cuda = torch.device("cuda")
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: device.type == "cuda")
    assert orthogonalisation_dtype(cuda, torch.float16) == torch.bfloat16
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: False)  # a GPU older than Ampere
    assert orthogonalisation_dtype(cuda, torch.float16) == torch.float32


def test_generation_dtype_auto_is_float32_on_cpu():
    assert resolve_inference_dtype("auto", CPU) == torch.float32
    assert resolve_inference_dtype("bfloat16", CPU) == torch.bfloat16


def test_compile_by_default_on_cuda_only():
    """On a CPU torch.compile measured no faster at our sizes (bench/train_speed.py --compile), so it stays off."""
    assert resolve_compile(None, torch.device("cuda")) is True
    assert resolve_compile(None, CPU) is False
    assert resolve_compile(True, CPU) is True
    assert resolve_compile(False, torch.device("cuda")) is False
