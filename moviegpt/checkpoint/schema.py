"""What a checkpoint holds, declared once: the keys, their meaning, and the version of the layout.

Version 2 (this one) keeps what exact resume needs under one key, `trainer`; version 1 had those keys at the top
level and is upgraded when loaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from moviegpt.errors import UserError

FORMAT = "moviegpt-checkpoint"
VERSION = 2
# Version 1 kept the trainer's state at the top level under these keys.
# What a weights-only checkpoint of a run keeps of its trainer: where it was and how good it was.
SUMMARY_KEYS = ("epoch", "epoch_completed", "step", "tokens_seen", "metrics", "best_val_loss")
V1_TRAINER_KEYS = (
    "optimizer",
    "scaler",
    "epoch",
    "epoch_completed",
    "step",
    "tokens_seen",
    "rng",
    "train_config",
    "metrics",
    "wandb_run_id",
    "best_val_loss",
)


@dataclass
class Checkpoint:
    """A self-contained checkpoint: everything generation needs, and what resuming needs when `trainer` is set."""

    model_config: dict[str, Any]  # the model's config (GPTConfig / BigramConfig as a dict, with "kind")
    tokenizer: dict[str, Any]  # Tokenizer.to_dict()
    model: dict[str, Any]  # the weights (state dict)
    record_format: dict[str, str] | None = None  # RecordFormat of movie-format training text, else None
    train_args: dict[str, Any] | None = None  # the run's settings by flag name (resume, --compare, --init_from)
    trainer: dict[str, Any] | None = None  # Trainer.state_dict() (exact resume), or only SUMMARY_KEYS of it
    converted_from: dict[str, str] | None = None  # set on checkpoints converted from the original MovieGPT

    @property
    def resumable(self) -> bool:
        """Whether it holds the optimizer state (older checkpoints of a run keep only a summary of the trainer)."""
        return self.trainer is not None and "optimizer" in self.trainer

    def to_payload(self) -> dict[str, Any]:
        """The dict torch.save writes (tensors and plain data only, so weights_only loading works), with a checksum
        of the weights that loading verifies."""
        body = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        return {"format": FORMAT, "version": VERSION, **body, "checksum": weights_checksum(self.model)}

    @classmethod
    def from_payload(cls, payload: object, path: str | Path) -> Checkpoint:
        """Check a loaded dict and read it (upgrading version 1); anything else is a one-line UserError."""
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise UserError(f"not a MovieGPT checkpoint (made by another tool?): {path}")
        version = payload.get("version")
        if version == 1:
            payload = upgrade_v1(payload)
        elif version != VERSION:
            raise UserError(f"checkpoint version {version} is not supported (expected {VERSION} or 1): {path}")
        for key in ("model_config", "tokenizer", "model"):
            if key not in payload:
                raise UserError(f"checkpoint is missing '{key}': {path}")
        if "checksum" in payload and payload["checksum"] != weights_checksum(payload["model"]):
            raise UserError(f"checkpoint is damaged: its weights do not match the checksum saved with them: {path}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in names})


def weights_checksum(weights: dict[str, Any]) -> str:
    """A BLAKE2 digest of the weights: names, dtypes, shapes and bytes (a flipped byte anywhere changes it)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(weights):
        tensor = weights[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def upgrade_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: the trainer's keys move under `trainer`."""
    trainer = {k: payload[k] for k in V1_TRAINER_KEYS if k in payload}
    rest = {k: v for k, v in payload.items() if k not in V1_TRAINER_KEYS}
    return {**rest, "version": VERSION, "trainer": trainer if "optimizer" in trainer else None}
