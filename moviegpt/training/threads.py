"""On a CPU, train with the number of threads that is fastest now. A core that another program keeps busy stalls
every parallel region of a multi-threaded step (on 2 cores with one busy, 2 threads ran 30x slower than 1), and the
load on a user's laptop comes and goes: so the speed is watched, and the other thread count is tried when steps
slow down sharply and, less and less often, otherwise; the faster one is kept, and the user is told."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch

from moviegpt.runtime import autocast
from moviegpt.training.distributed import DistContext

WINDOW_SECONDS = 2.0  # steps are timed over windows of at least this long (and at least MIN_STEPS)
MIN_STEPS = 3
COLLAPSE = 0.5  # a window this much slower than the best seen at the same thread count: check again at once
MARGIN = 1.3  # fewer threads are taken only when a pass is at least this much faster with them (quiet: 0.6x)
BACK = 1.1  # and all of them again when they are this much faster
QUICK = 0.02  # a pass shorter than this (seconds) is timed more often: its times are noisier
FIRST_RETRY, LONGEST_RETRY = 30.0, 600.0  # seconds until the next check (doubling while nothing changes)

Probe = Callable[[int], float]  # threads -> seconds of a forward and backward pass (nothing of the run touched)


def step_seconds(model: torch.nn.Module, x: torch.Tensor, threads: int, dtype: torch.dtype = torch.float32) -> float:
    """Time a forward and backward pass of the model on x with this many threads, changing nothing of the run: the
    gradients are returned, not accumulated, and the random generators are put back."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng():
            start = time.perf_counter()
            with autocast(x.device, dtype):
                loss = model(x, x)[1]
            torch.autograd.grad(loss, [p for p in model.parameters() if p.requires_grad])
            return time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)


class ThreadGovernor:
    """Call after_step(seconds) with the time of each optimizer step (evaluations and saves not included). After
    the first steps, when steps slow down sharply, and less and less often otherwise, it times a forward and backward
    pass with each thread count (a probe that changes nothing of the run, so a quiet machine keeps its numbers bit
    for bit) and trains with the clearly faster one."""

    def __init__(
        self, threads: int, say: Callable[[str], None], probe: Probe, clock: Callable[[], float] = time.perf_counter
    ):
        self.most, self.threads, self.say, self.probe, self.clock = threads, threads, say, probe, clock
        self.best = 0.0  # the fastest steps per second seen at the current thread count
        self.retry_in, self.next_check = FIRST_RETRY, clock()  # the first window is followed by a check
        self.window, self.steps, self.skip = 0.0, 0, 1  # seconds of steps in this window; the first step warms up

    @classmethod
    def for_training(
        cls, device: torch.device, context: DistContext, say: Callable[[str], None], probe: Probe, fixed: bool = False
    ):
        """A governor where one helps (a CPU run with more than one thread the user did not fix), else None."""
        fixed = fixed or "OMP_NUM_THREADS" in os.environ or context.enabled
        if device.type != "cpu" or fixed or torch.get_num_threads() < 2:
            return None
        return cls(torch.get_num_threads(), say, probe)

    def after_step(self, seconds: float) -> None:
        if self.skip:
            self.skip -= 1
            return
        self.steps, self.window = self.steps + 1, self.window + seconds
        if self.steps < MIN_STEPS and self.window < WINDOW_SECONDS or self.window <= 0:
            return
        speed, self.window, self.steps = self.steps / self.window, 0.0, 0
        collapsed = speed < COLLAPSE * self.best
        self.best = max(self.best, speed)
        now = self.clock()
        if collapsed or now >= self.next_check:
            self.check(now)

    def timed(self, threads: int) -> float:
        """The best of a few probes at this thread count (more for a short pass)."""
        best = min(self.probe(threads) for _ in range(2))
        return min(best, *(self.probe(threads) for _ in range(6))) if best < QUICK else best

    def check(self, now: float) -> None:
        """Probe both thread counts; switch when the other is clearly faster. A tiny model counts too: under load
        its 2-thread passes, short as they are, ran 3x slower than one thread's."""
        other = 1 if self.threads == self.most else self.most
        mine, theirs = self.timed(self.threads), self.timed(other)
        if theirs * (BACK if other == self.most else MARGIN) <= mine:
            self.threads, self.best, self.retry_in = other, 0.0, FIRST_RETRY
            torch.set_num_threads(other)
            why = "another program is busy on a core" if other == 1 else "the cores are free again"
            plural = "s" * (other > 1)
            speeds = f"{theirs * 1000:.0f} ms a pass against {mine * 1000:.0f}"
            self.say(f"training with {other} thread{plural} now: {speeds} ({why})")
        else:
            self.retry_in = min(2 * self.retry_in, LONGEST_RETRY)
        self.next_check = now + self.retry_in
