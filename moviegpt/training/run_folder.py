"""The run folder: created safely, and where and when checkpoints go (epoch files, last.pt, best.pt, pruning)."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
from datetime import datetime
from pathlib import Path

import torch
from filelock import FileLock, Timeout

from moviegpt.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from moviegpt.checkpoint.schema import SUMMARY_KEYS
from moviegpt.checkpoint.storage import epoch_files
from moviegpt.errors import UserError
from moviegpt.files import TEMP_SUFFIX, atomic_alias, remove_stale_temporaries

RESUMABLE = 2  # the newest checkpoints that keep the optimizer state: the newest, and a fallback should it be damaged


class RunCheckpoints:
    """Writes epoch_NNN.pt (also as last.pt, and as best.pt when its validation loss is the lowest so far),
    keeps the newest `keep` epoch files (0 keeps all).

    Only the newest two epoch files keep what exact resume needs (the optimizer state is two thirds of a
    checkpoint); older ones and best.pt are rewritten with the weights alone, which is what generation and
    --init_from need."""

    def __init__(self, out_dir: Path, keep: int = 3):
        self.out_dir, self.keep = Path(out_dir), keep
        self.best_val_loss = math.inf
        self.slim_inodes: set[int] = set()  # files known to hold weights only: not opened again
        remove_stale_temporaries(self.out_dir)  # left by a run killed while saving

    def write(self, epoch: int, checkpoint: Checkpoint, val_loss: float | None) -> Path:
        """Save this epoch's file; val_loss None (a save between evaluations) never becomes best.pt."""
        path = self.out_dir / f"epoch_{epoch:03d}.pt"
        improved = val_loss is not None and val_loss < self.best_val_loss
        if improved:
            self.best_val_loss = val_loss
        if checkpoint.trainer is not None:
            checkpoint.trainer["best_val_loss"] = self.best_val_loss
        save_checkpoint(path, checkpoint)
        atomic_alias(path, self.out_dir / "last.pt")
        if improved:
            atomic_alias(path, self.out_dir / "best.pt")
        self.prune()
        self.slim_older()
        return path

    def slim_older(self) -> None:
        """Weights only in every epoch file but the newest two, and in best.pt unless it is one of those."""
        epochs = epoch_files(self.out_dir)
        best = self.out_dir / "best.pt"
        for old in epochs[:-RESUMABLE]:
            was_best = best.exists() and os.path.samefile(best, old)
            if self.slim_once(old) and was_best:
                atomic_alias(old, best)  # the same inode again: no second copy of the weights
        if best.exists() and not any(os.path.samefile(best, f) for f in epochs[-RESUMABLE:]):
            self.slim_once(best)

    def slim_once(self, path: Path) -> bool:
        """slim(path), skipping a file this run already knows holds weights only."""
        if path.stat().st_ino in self.slim_inodes:
            return False
        changed = slim(path)
        self.slim_inodes.add(path.stat().st_ino)
        return changed

    def prune(self) -> None:
        if self.keep > 0:
            for old in epoch_files(self.out_dir)[: -self.keep]:
                old.unlink(missing_ok=True)


def slim(path: Path) -> bool:
    """Rewrite a checkpoint with the weights and only a summary of the trainer (atomically); whether it changed."""
    if "optimizer" not in torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("trainer", {}):
        return False
    checkpoint = load_checkpoint(path)
    summary = {k: v for k, v in checkpoint.trainer.items() if k in SUMMARY_KEYS}
    save_checkpoint(path, dataclasses.replace(checkpoint, trainer=summary))
    return True


class RunFolder:
    """The folder a run writes into, held by this run alone while it trains (a lock the operating system drops when
    the process ends, however it ends). A folder this run made and left without a checkpoint is removed again;
    `runs/latest` points to the newest run made under runs/."""

    LOCK = ".lock"

    def __init__(self, path: Path, created: bool):
        self.path, self.created = path, created
        self.lock = FileLock(path / self.LOCK)
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            message = f"{path} is in use by another training run; wait for it to end or choose another folder"
            raise UserError(message) from None
        except OSError as exc:
            raise UserError(f"cannot lock the run folder {path}: {exc.strerror or exc}") from None
        if created and path.parent == Path("runs"):
            point_latest(path)

    @classmethod
    def new(cls, out_dir: str | None) -> RunFolder:
        """A new run folder (default runs/<timestamp>); one that already holds checkpoints is refused."""
        path = Path(out_dir) if out_dir else Path("runs") / datetime.now().strftime("%Y%m%d_%H%M%S")
        if path.exists() and not path.is_dir():
            raise UserError(f"--out_dir is a file, not a folder: {path}")
        if path.is_dir() and any(path.glob("*.pt")):
            raise UserError(f"--out_dir {path} already holds checkpoints; choose another folder")
        created = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create --out_dir {path}: {exc.strerror}") from None
        return cls(path, created)

    def release(self) -> None:
        """Unlock; remove the folder if this run made it and wrote no checkpoint (it failed or was stopped early)."""
        self.lock.release()
        if self.created and not any(self.path.glob("*.pt")):
            shutil.rmtree(self.path, ignore_errors=True)
            latest = self.path.parent / "latest"
            if latest.is_symlink() and latest.readlink().name == self.path.name:
                latest.unlink()


def point_latest(run: Path) -> None:
    """runs/latest -> runs/<this run>, replaced atomically (where the file system has symbolic links)."""
    link = run.parent / "latest"
    tmp = run.parent / f".latest.{os.getpid()}{TEMP_SUFFIX}"
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)
        os.symlink(run.name, tmp)
        os.replace(tmp, link)
