"""`gpt.py --checkpoint CKPT --convert OUT`: save a checkpoint (an original MovieGPT state dict, or ours) as ours."""

from __future__ import annotations

from moviegpt.checkpoint import save_checkpoint
from moviegpt.cli.loading import checkpoint_from_flags
from moviegpt.cli.settings import Settings


def convert_command(settings: Settings) -> None:
    out = settings.command.convert
    save_checkpoint(out, checkpoint_from_flags(settings))
    print(f"saved {out}; generate with: python gpt.py --checkpoint {out}", flush=True)
