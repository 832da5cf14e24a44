"""`gpt.py --checkpoint CKPT --convert OUT`: save a checkpoint (an original MovieGPT state dict, or ours) as ours."""

from __future__ import annotations

from pathlib import Path

from moviegpt.checkpoint import save_checkpoint
from moviegpt.cli.loading import checkpoint_from_flags
from moviegpt.cli.settings import Settings
from moviegpt.errors import UserError


def convert_command(settings: Settings) -> None:
    out = settings.command.convert
    if Path(out).exists() and not settings.command.force:
        raise UserError(f"--convert {out} already exists; add --force to replace it")
    save_checkpoint(out, checkpoint_from_flags(settings))
    print(f"saved {out}; generate with: python gpt.py --checkpoint {out}", flush=True)
