"""Where and in what precision to run: device choice, autocast dtype, seeding."""

from __future__ import annotations

import contextlib
import functools
import os
import random
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from moviegpt.errors import UserError
from moviegpt.settings import FIXED, FREE, between, setting, validate

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DEFAULT_SEED = 7331
ISA_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")  # set: a CPU made to act older


@dataclass
class Runtime:
    """Where and in what precision a command runs, where its caches go, and its random seed."""

    device: str = setting("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    dtype: str = setting(
        "auto",
        "autocast precision; auto = bfloat16 where supported (on a CPU: where measured faster), float16 on older "
        "GPUs, else float32",
        choices=("auto", *DTYPES),
        resume=FREE,
    )
    cache_dir: str | None = setting(
        None, "where token caches and downloads go (default $MOVIEGPT_CACHE_DIR, else ~/.cache/moviegpt)", resume=FREE
    )
    seed: int = setting(
        DEFAULT_SEED,
        "random seed for initialisation, batches and sampling",
        check=between(0, 2**63 - 1),
        resume=FIXED,
    )

    def __post_init__(self) -> None:
        validate(self)


def resolve_device(name: str = "auto") -> torch.device:
    """auto picks cuda, then mps, then cpu; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", name):
        raise UserError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {name!r}")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: CUDA is not available on this machine")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise UserError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) present")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps: MPS is not available on this machine")
    return torch.device(name)


def cpu_flags() -> set[str]:
    """The feature flags the CPU reports (Linux); empty where they cannot be read."""
    try:
        found = re.search(r"^flags\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    except OSError:
        return set()
    return set(found.group(1).split()) if found else set()


@functools.cache
def cpu_bf16_fast() -> bool:
    """Whether a bfloat16 matrix product is faster than a float32 one on this CPU, measured once per process.
    oneDNN's "bf16 supported" is not enough: it also says so where it only emulates bfloat16 (AVX-512 without
    AVX512_BF16), and without native units a bf16 product is 28-75x slower than fp32 (AVX2)."""
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    best = {}
    for dtype in (torch.float32, torch.bfloat16):
        a = torch.ones(256, 256, dtype=dtype)
        a @ a  # the first product picks kernels
        best[dtype] = min(timed(lambda a=a: a @ a) for _ in range(5))
    return best[torch.bfloat16] < best[torch.float32]


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bf16_supported(device: torch.device) -> bool:
    """Whether bfloat16 matrix products run natively (fast) on this device: on CUDA without emulation, on a CPU
    as measured (cpu_bf16_fast)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return cpu_bf16_fast()
    return False


def cpu_capability() -> str:
    """What this CPU offers matrix products, for bench stamps and the dtype probe's cache key: ATen's vector ISA,
    the bfloat16 and AMX flags the CPU reports, whether bfloat16 measured fast, and any ISA limit set in the
    environment."""
    named = sorted(cpu_flags() & {"avx512_bf16", "amx_bf16", "amx_tile", "avx512f", "avx2", "sve", "bf16"})
    limits = [f"{k}={os.environ[k]}" for k in ISA_LIMITS if os.environ.get(k)]
    fast = "fast" if cpu_bf16_fast() else "slow"
    return f"{torch.backends.cpu.get_cpu_capability()} (flags {' '.join(named) or 'unknown'}; bfloat16 {fast})" + (
        f" [{' '.join(limits)}]" if limits else ""
    )


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """auto: bf16 where native on CUDA, else fp16 there; float32 on a CPU (where the training run measures
    whether bfloat16 is faster for its model: training/dtype_probe.py) and on MPS."""
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if bf16_supported(device) else torch.float16
        return torch.float32
    if name not in DTYPES:
        raise UserError(f"--dtype must be auto, float32, bfloat16 or float16, got {name!r}")
    dtype = DTYPES[name]
    if dtype == torch.float16 and device.type != "cuda":
        raise UserError("--dtype float16 needs a CUDA device; use bfloat16 or float32 on CPU")
    return dtype


def orthogonalisation_dtype(device: torch.device, dtype: torch.dtype) -> torch.dtype:
    """The precision of Muon's Newton-Schulz products (training/muon.py): bfloat16 where its products are fast,
    that is on CUDA with native bfloat16 and on a CPU run whose dtype is bfloat16 (measured faster, or asked for),
    else float32. One rule beside the autocast dtype's, so the two never disagree about what is fast."""
    if device.type == "cuda":
        return torch.bfloat16 if bf16_supported(device) else torch.float32
    return torch.bfloat16 if dtype == torch.bfloat16 else torch.float32


def resolve_inference_dtype(name: str, device: torch.device) -> torch.dtype:
    """Weights for generation. auto: float32 on CPU, where one-token steps are memory-bound and bf16 kernels are
    no faster (bench/generation_speed.py); bf16 (else fp16) on CUDA."""
    if name == "auto" and device.type != "cuda":
        return torch.float32
    return resolve_dtype(name, device)


def resolve_evaluation_dtype(name: str, device: torch.device) -> torch.dtype:
    """Weights for --evaluate, which reports exact losses: float32 unless --dtype says otherwise."""
    return torch.float32 if name == "auto" else resolve_dtype(name, device)


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Mixed-precision context for forward passes; a no-op in float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def physical_cores() -> int:
    """CPU cores this process may use, counting each physical core once (hyper-threads share its matrix units)."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return allowed
    cores = set(re.findall(r"physical id\s*:\s*(\d+)[^\n]*\n(?:[^\n]+\n)*?core id\s*:\s*(\d+)", text))
    threads = text.count("processor\t:") or allowed
    per_core = max(1, threads // len(cores)) if cores else 1
    return max(1, allowed // per_core)


def configure_backends(device: torch.device, threads: int | None = None) -> None:
    """TF32 matrix products on CUDA (Ampere and newer): fp32 accuracy for training, much faster. On a CPU `threads`,
    else one thread per physical core, unless OMP_NUM_THREADS says otherwise (torchrun with CPU processes)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    elif device.type == "cpu" and (threads or not os.environ.get("OMP_NUM_THREADS")):
        torch.set_num_threads(threads or physical_cores())


def resolve_compile(choice: bool | None, device: torch.device) -> bool:
    """Whether to torch.compile a training model. None (the default): on CUDA, where it is the standard speed-up;
    off on a CPU, where it measured no faster here at our sizes and costs ~15-20 s of the budget to compile
    (bench/train_speed.py --compile; docs/decisions.md)."""
    return device.type == "cuda" if choice is None else choice


def compile_errors() -> tuple[type[Exception], ...]:
    """What a failed compilation raises (no C++ compiler, a generated kernel g++ cannot build, an unsupported
    operation). An error of the model itself (a shape bug, out of memory) is not one of these and reaches the user
    as it is. (torch._dynamo and torch._inductor are read here, once torch.compile has loaded them: importing them
    costs a second at start-up.)"""
    errors = torch._dynamo.exc
    inductor = getattr(getattr(torch._inductor, "exc", None), "InductorError", None)
    found = (errors.BackendCompilerFailed, errors.Unsupported, errors.InternalTorchDynamoError)
    return found + ((inductor,) if inductor else ())


class CompiledModel(torch.nn.Module):
    """torch.compile(model) as a module (DistributedDataParallel can wrap it), falling back to the eager model for
    good, with a one-line warning, when compiling fails. torch.compile is lazy and compiles again for a new mode or
    shape (the first evaluation's eval-mode forward), so every call is guarded; any error that is not a compilation
    failure is raised as it is. On a CPU the compiler runs in this process (no pool of compile workers that could
    outlive a failure)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        if next(model.parameters()).device.type == "cpu":
            torch._inductor.config.compile_threads = 1
        self.compiled = torch.compile(model)
        self.eager = False

    @property
    def model(self) -> torch.nn.Module:
        """The model being compiled (its weights, for saving)."""
        return self.compiled._orig_mod

    def forward(self, *args, **kwargs):
        if self.eager:
            return self.model(*args, **kwargs)
        try:
            return self.compiled(*args, **kwargs)
        except compile_errors() as exc:
            cause = getattr(exc, "inner_exception", exc)  # what the compiler backend itself raised
            lines = str(cause).strip().splitlines()
            reason = next((line for line in lines if "Error" in line), lines[0] if lines else type(cause).__name__)
            warnings.warn(f"--compile failed, training without it: {reason.strip()[:200]}", stacklevel=2)
            self.eager = True
            return self.model(*args, **kwargs)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def prepare_for_inference(model: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """Evaluation mode on the device, weights cast once to the inference dtype (no per-step autocast casts)."""
    return model.eval().to(device=device, dtype=dtype)


def device_memory(device: torch.device) -> int | None:
    """The device's memory in bytes (None where it cannot be read)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    if device.type == "cpu" and hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return None
