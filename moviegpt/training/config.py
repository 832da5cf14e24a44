"""TrainConfig: the settings of the training loop, checked once when it is built; TrainResult: what it ends with."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from moviegpt.errors import check


@dataclass
class TrainConfig:
    batch_size: int = 128
    lr: float = 2.5e-4
    epochs: int = 5
    max_iters: int | None = None
    max_minutes: float | None = None
    eval_iters: int = 100
    eval_interval: int | None = None  # None: four per epoch, but at least 4 * eval_iters steps apart
    logging_steps: int = 50
    warmup_iters: int | None = None  # None: 5% of the planned steps, at most 100
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 7331
    keep_checkpoints: int = 3  # newest epoch checkpoints kept (plus best.pt and last.pt); 0 keeps all
    checkpoint_every_minutes: float | None = None  # also save mid-epoch this often
    checkpoint_every_steps: int | None = None  # also save mid-epoch every this many steps
    grad_accum: int = 1  # micro-batches of batch_size per optimizer step
    compile: bool | None = None  # torch.compile the model; None: on CUDA only (falls back to eager with a warning)
    optimizer: str = "adamw"  # "adamw", or "muon" (Muon on hidden matrices, AdamW on the rest)
    muon_lr: float = 0.02  # Muon's peak learning rate (its updates are orthogonalised: a different scale)
    schedule: str = "cosine"  # "cosine" decay, or "wsd" (warmup, stable, then a linear cooldown)
    cooldown_frac: float = 0.4  # wsd: the last fraction of the run spent decaying
    eval_share: float = 0.05  # under --max_minutes, evaluations take at most about this share of the time

    def __post_init__(self) -> None:
        for name in ("batch_size", "epochs", "eval_iters", "logging_steps", "grad_accum"):
            check(getattr(self, name) >= 1, name, f"must be >= 1, got {getattr(self, name)}")
        for name in ("max_iters", "eval_interval", "warmup_iters", "checkpoint_every_steps"):
            value = getattr(self, name)
            check(value is None or value >= (0 if name == "warmup_iters" else 1), name, f"must be >= 1, got {value}")
        for name in ("lr", "max_minutes", "checkpoint_every_minutes"):
            value = getattr(self, name)
            check(
                value is None or (math.isfinite(value) and value > 0), name, f"must be a finite number > 0, got {value}"
            )
        for name in ("min_lr_ratio", "weight_decay", "grad_clip"):
            value = getattr(self, name)
            check(math.isfinite(value) and value >= 0, name, f"must be a finite number >= 0, got {value}")
        check(self.optimizer in ("adamw", "muon"), "optimizer", f"must be adamw or muon, got {self.optimizer!r}")
        check(self.schedule in ("cosine", "wsd"), "schedule", f"must be cosine or wsd, got {self.schedule!r}")
        check(
            math.isfinite(self.muon_lr) and self.muon_lr > 0,
            "muon_lr",
            f"must be a finite number > 0, got {self.muon_lr}",
        )
        for name in ("cooldown_frac", "eval_share"):
            value = getattr(self, name)
            check(math.isfinite(value) and 0 < value <= 1, name, f"must be in (0, 1], got {value}")
        check(self.keep_checkpoints >= 0, "keep_checkpoints", f"must be >= 0, got {self.keep_checkpoints}")


@dataclass
class TrainResult:
    checkpoint: Path
    step: int
    train_loss: float
    val_loss: float
