"""--dtype auto on a CPU: time a training step of this model and batch in float32 and in bfloat16, keep the faster.

Large bf16 matrix products run several times faster than fp32 on CPUs with AMX, small ones often slower; so this
is measured, not assumed. The choice is cached per CPU (model name and capabilities), torch version, thread count,
model and batch size, in the cache folder, so only the first run of a size pays for the probe (a few seconds).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import platform
import re
import time
from collections.abc import Callable
from pathlib import Path

import torch

from moviegpt.files import atomic_write
from moviegpt.models import LanguageModel
from moviegpt.runtime import autocast, bf16_supported, cpu_capability

PROBE_ROUNDS = 3
QUIET_SHARE = 0.6  # CPU time per thread per wall second at or above which the cores were ours


def machine_key() -> str:
    """The CPU (its model name and what it offers matrix products: one model name covers CPUs with and without
    native bfloat16), the torch version and the thread count: a choice measured under one is never reused under
    another."""
    try:
        cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text()).group(1).strip()
    except (OSError, AttributeError):
        cpu = platform.processor() or platform.machine()
    return f"{cpu} | {cpu_capability()} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def step_timer(model: LanguageModel, batch_size: int, dtype: torch.dtype) -> Callable[[], float]:
    """A function that runs one forward and backward pass of a copy of the model on random tokens, and times it."""
    probe = copy.deepcopy(model).train()
    x = torch.randint(0, probe.config.vocab_size, (batch_size, probe.config.context_length))

    def step() -> float:
        start = time.perf_counter()
        with autocast(torch.device("cpu"), dtype):
            loss = probe(x, x)[1]
        loss.backward()
        return time.perf_counter() - start

    return step


def measure(model: LanguageModel, batch_size: int) -> dict[str, float]:
    """The best step time of each dtype over a few rounds, alternating, after two warm-up steps each (the first
    steps of a process pay one-time costs: kernel selection, allocations)."""
    timers = {name: step_timer(model, batch_size, getattr(torch, name)) for name in ("float32", "bfloat16")}
    for timer in timers.values():
        timer(), timer()
    best = dict.fromkeys(timers, math.inf)
    for _ in range(PROBE_ROUNDS):
        for name, timer in timers.items():
            best[name] = min(best[name], timer())
    return best


def was_quiet(wall: float, cpu: float) -> bool:
    """Whether this process had its threads' cores to itself (busy cores show as CPU time well below wall time)."""
    return wall < 0.05 or cpu >= QUIET_SHARE * wall * torch.get_num_threads()  # (too short to tell: quiet)


def fastest_cpu_dtype(
    model: LanguageModel, batch_size: int, cache_file: Path, say: Callable[[str], None] = print
) -> tuple[torch.dtype, str, float]:
    """The faster training dtype here, how it was decided, and the seconds the probe took (0 when cached). A choice
    measured while other programs kept the cores busy is used for this run only, never cached."""
    if not bf16_supported(torch.device("cpu")):
        return torch.float32, "no native bfloat16 on this CPU", 0.0
    key = json.dumps([machine_key(), model.config.to_dict(), batch_size], sort_keys=True)
    try:
        cached = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cached = {}
    if key in cached:
        return getattr(torch, cached[key]["dtype"]), f"measured earlier: {cached[key]['ms']}", 0.0
    say("--dtype auto: timing a training step in float32 and in bfloat16 on this CPU (once per model size)...")
    start, cpu = time.perf_counter(), time.process_time()
    with torch.random.fork_rng():  # the probe must not change the run's random numbers
        times = measure(model, batch_size)
    wall = time.perf_counter() - start
    fastest = min(times, key=times.get)
    ms = ", ".join(f"{name} {seconds * 1000:.0f} ms/step" for name, seconds in times.items())
    if not was_quiet(wall, time.process_time() - cpu):
        return getattr(torch, fastest), f"measured on a busy machine, not kept: {ms}", wall
    cached[key] = {"dtype": fastest, "ms": ms}
    with contextlib.suppress(OSError):  # an unwritable cache only means probing again next time
        atomic_write(cache_file, lambda f: f.write(json.dumps(cached, indent=1).encode()))
    return getattr(torch, fastest), f"measured: {ms}", wall
