"""Checkpoints: the key schema (versioned), atomic saving, checked loading, and the original MovieGPT converter."""

from moviegpt.checkpoint.schema import Checkpoint
from moviegpt.checkpoint.storage import (
    load_checkpoint,
    model_from_checkpoint,
    newest_good_checkpoint,
    record_format_of,
    save_checkpoint,
)

__all__ = [
    "Checkpoint",
    "load_checkpoint",
    "model_from_checkpoint",
    "newest_good_checkpoint",
    "record_format_of",
    "save_checkpoint",
]
