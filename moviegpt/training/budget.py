"""What the Trainer consults besides its loop: the time budget (training time so far, saved with the run) and the
evaluation schedule. Under torchrun rank 0's clock decides for every rank."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from moviegpt.training.distributed import SINGLE, DistContext, agree

Clock = Callable[[], float]


class TimeBudget:
    """Seconds of training so far, across resumes (a checkpoint saves them), against --max_minutes.

    `now` is the time every rank agreed on at the last sync (rank 0's), so the learning rate, which follows the
    time under a budget, is the same on every rank, and all ranks stop at the same step."""

    def __init__(self, max_minutes: float | None, clock: Clock = time.perf_counter, context: DistContext = SINGLE):
        self.max_seconds = 60 * max_minutes if max_minutes else None
        self.clock, self.context = clock, context
        self.before = 0.0  # seconds spent before this process took over (earlier processes, setup)
        self.start = clock()
        self.now = 0.0

    def restart(self) -> None:
        """Count from here (the loop starts); time spent before is in `before`."""
        self.start = self.clock()
        self.now = self.before

    def elapsed(self) -> float:
        """This rank's own reading (for logs and speeds)."""
        return self.before + self.clock() - self.start

    def sync(self, stop_requested: bool, device: torch.device) -> bool:
        """Agree on the time (rank 0's) and on whether any rank was asked to stop; returns the latter."""
        self.now, stop = agree(self.elapsed(), stop_requested, self.context, device)
        return stop

    @property
    def fraction(self) -> float:
        """The share of the budget used (0 without a budget)."""
        return self.now / self.max_seconds if self.max_seconds else 0.0

    @property
    def exhausted(self) -> bool:
        return self.max_seconds is not None and self.now >= self.max_seconds

    def state_dict(self) -> dict[str, float | None]:
        return {"elapsed": self.now, "max_seconds": self.max_seconds}

    def load_state_dict(self, state: dict[str, float | None]) -> None:
        self.before = float(state.get("elapsed") or 0.0)
        self.now = self.before


class EvalSchedule:
    """Every `interval` steps; under a time budget only once training has had (1 - share) of the time since the last
    evaluation, so evaluations take at most about `share` of the budget however slow they are."""

    def __init__(self, interval: int, share: float, timed: bool):
        self.interval, self.share, self.timed = interval, share, timed
        self.last_seconds, self.last_end = 0.0, 0.0
        self.last_step = -1

    def due(self, step: int, now: float) -> bool:
        return step % self.interval == 0 and self.time_allows(now)

    def time_allows(self, now: float) -> bool:
        return not self.timed or now - self.last_end >= self.last_seconds * (1 / self.share - 1)

    def record(self, step: int, start: float, end: float) -> None:
        self.last_step, self.last_seconds, self.last_end = step, end - start, end


class SaveSchedule:
    """When a periodic mid-epoch save (--checkpoint_every_steps / --checkpoint_every_minutes) is due: by the step and
    the agreed time (rank 0's), so under torchrun every rank enters the save at the same step."""

    def __init__(self, every_steps: int | None, every_minutes: float | None):
        self.every_steps, self.every_seconds = every_steps, 60 * every_minutes if every_minutes else None
        self.last = 0.0

    def restart(self, now: float) -> None:
        self.last = now

    def due(self, step: int, now: float) -> bool:
        if self.every_steps and step % self.every_steps == 0:
            return True
        return self.every_seconds is not None and now - self.last >= self.every_seconds

    def saved(self, now: float) -> None:
        self.last = now
