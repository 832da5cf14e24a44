"""Where and when a training run writes checkpoints: epoch files, last.pt, best.pt, timed saves, pruning."""

from __future__ import annotations

import math
import time
from pathlib import Path

from .checkpoint import save_checkpoint
from .files import atomic_alias, remove_stale_temporaries


class RunCheckpoints:
    """Writes epoch_NNN.pt (also as last.pt, and as best.pt when its validation loss is the lowest so far),
    keeps the newest `keep` epoch files (0 keeps all) and says when a periodic mid-epoch save is due."""

    def __init__(self, out_dir: Path, keep: int = 3, every_minutes: float | None = None,
                 every_steps: int | None = None):
        self.out_dir, self.keep = Path(out_dir), keep
        self.every_minutes, self.every_steps = every_minutes, every_steps
        self.best_val_loss = math.inf
        self.last_save_time = time.perf_counter()
        remove_stale_temporaries(self.out_dir)  # left by a run killed while saving

    def due(self, step: int) -> bool:
        """Whether a periodic save (--checkpoint_every_steps / --checkpoint_every_minutes) is due now."""
        if self.every_steps and step % self.every_steps == 0:
            return True
        return bool(self.every_minutes) and time.perf_counter() - self.last_save_time >= 60 * self.every_minutes

    def write(self, epoch: int, state: dict, val_loss: float | None) -> Path:
        """Save state as this epoch's file; val_loss None (a save between evaluations) never becomes best.pt."""
        path = self.out_dir / f"epoch_{epoch:03d}.pt"
        improved = val_loss is not None and val_loss < self.best_val_loss
        if improved:
            self.best_val_loss = val_loss
        save_checkpoint(path, {**state, "best_val_loss": self.best_val_loss})
        atomic_alias(path, self.out_dir / "last.pt")
        if improved:
            atomic_alias(path, self.out_dir / "best.pt")
        self.prune()
        self.last_save_time = time.perf_counter()
        return path

    def prune(self) -> None:
        if self.keep > 0:
            for old in sorted(self.out_dir.glob("epoch_*.pt"))[: -self.keep]:
                old.unlink(missing_ok=True)
