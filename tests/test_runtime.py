import pytest
import torch

from moviegpt.errors import UserError
from moviegpt.runtime import (
    bf16_supported,
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


def test_training_dtype_auto_uses_bf16_where_the_cpu_supports_it():
    expected = torch.bfloat16 if bf16_supported(CPU) else torch.float32
    assert resolve_dtype("auto", CPU) == expected
    assert resolve_dtype("float32", CPU) == torch.float32
    with pytest.raises(UserError, match="float16 needs a CUDA device"):
        resolve_dtype("float16", CPU)


def test_generation_dtype_auto_is_float32_on_cpu():
    assert resolve_inference_dtype("auto", CPU) == torch.float32
    assert resolve_inference_dtype("bfloat16", CPU) == torch.bfloat16


def test_compile_by_default_on_cuda_only():
    """On a CPU torch.compile measured no faster at our sizes (bench/train_speed.py --compile), so it stays off."""
    assert resolve_compile(None, torch.device("cuda")) is True
    assert resolve_compile(None, CPU) is False
    assert resolve_compile(True, CPU) is True
    assert resolve_compile(False, torch.device("cuda")) is False
