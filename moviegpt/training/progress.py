"""What a person sees while a run trains: a tqdm bar at a terminal, one plain line per log otherwise (a file or a
pipe gets readable lines, not a bar's carriage-return frames). Either way the time shown is what the run has left."""

from __future__ import annotations

import math
import sys
from typing import TextIO

from tqdm import tqdm


def clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Steps done out of the run's total; `left` is the budget's remaining time under --max_minutes, else the time
    the remaining steps take at the speed so far."""

    def __init__(
        self,
        total_steps: int,
        step: int,
        enabled: bool = True,
        out: TextIO | None = None,
        slow_epoch: str = "",
        chars_per_token: float = 1.0,
    ):
        """slow_epoch: said once, with the time an epoch takes at this speed, when that is over half an hour;
        chars_per_token: where tokens are not characters, losses are also shown in bits per character."""
        self.out = out or sys.stdout
        self.total, self.first, self.slow_epoch = total_steps, step, slow_epoch
        self.chars_per_token = chars_per_token
        self.bar = None
        self.enabled = enabled
        if enabled and self.out.isatty():
            self.bar = tqdm(
                total=total_steps,
                initial=step,
                desc="training",
                unit="step",
                dynamic_ncols=True,
                mininterval=0.5,
                file=self.out,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
            )

    def left(self, step: int, elapsed: float, budget_left: float | None) -> float:
        if budget_left is not None:
            return budget_left
        done = max(step - self.first, 1)
        return (self.total - step) * elapsed / done

    def report(
        self, step: int, loss: float, tokens_per_s: float, elapsed: float, seconds_per_step: float, budget_left=None
    ) -> None:
        """A train-loss log with the time left (the budget's, else the remaining steps' at this speed); under a time
        budget the steps it allows at this speed stand for the total (~ marks an estimate)."""
        left = self.left(step, seconds_per_step * max(step - self.first, 1), budget_left)
        total = None
        if budget_left is not None and seconds_per_step > 0:
            total = min(self.total, step + round(max(budget_left, 0) / seconds_per_step))
            if self.bar is not None:
                self.bar.total = total
        self.log(step, loss, tokens_per_s, elapsed, left, self.per_char(loss), total)

    def losses_line(self, losses: dict[str, float]) -> str:
        val = losses["val"]
        return f"train loss {losses['train']:.4f}, val loss {val:.4f}{self.per_char(val)}"

    def per_char(self, loss: float) -> str:
        """The loss in bits per character, where tokens are not characters (comparable across tokenizers)."""
        return f" ({loss / self.chars_per_token / math.log(2):.3f} bits/char)" if self.chars_per_token != 1 else ""

    def update(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def epoch_time(self, steps_per_epoch: int, seconds_per_step: float) -> None:
        """Say how long an epoch takes at this speed, once, when it is long (and there is something to suggest)."""
        seconds = steps_per_epoch * seconds_per_step
        if self.slow_epoch and seconds > 1800:
            self.write(f"note: at this speed one epoch ({steps_per_epoch:,} steps) takes about {clock(seconds)}; "
                       f"{self.slow_epoch}")  # fmt: skip
        self.slow_epoch = ""

    def log(
        self, step: int, loss: float, tokens_per_s: float, elapsed: float, left: float, extra: str = "", total=None
    ) -> None:
        """total: the budget's estimate of the steps in all, shown as ~N (None: the planned steps)."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.4f}{extra}, {tokens_per_s:,.0f} tok/s, {clock(left)} left")
        elif self.enabled:
            of = f"{self.total:,}" if total is None else f"~{total:,}"
            self.write(
                f"step {step:,}/{of} | loss {loss:.4f}{extra} | {tokens_per_s:,.0f} tok/s | "
                f"{clock(elapsed)} elapsed | {clock(left)} left"
            )

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.out)
        elif self.enabled:
            print(text, file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def position(step: int, steps_per_epoch: int, epochs: int) -> str:
    """Where a run is, numbered as the progress lines number epochs: "epoch 2 of 4" or "48% of epoch 1 of 4"."""
    epoch, into = divmod(step, steps_per_epoch)
    if into == 0:
        return f"epoch {epoch} of {epochs}"
    return f"{100 * into // steps_per_epoch}% of epoch {epoch + 1} of {epochs}"
