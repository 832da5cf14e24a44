"""`gpt.py --checkpoint CKPT --convert OUT`: save a checkpoint (an original MovieGPT state dict, or ours) as ours."""

from __future__ import annotations

import argparse

from moviegpt.checkpoint import save_checkpoint
from moviegpt.cli.loading import checkpoint_from_flags


def convert_command(args: argparse.Namespace) -> None:
    save_checkpoint(args.convert, checkpoint_from_flags(args))
    print(f"saved {args.convert}; generate with: python gpt.py --checkpoint {args.convert}", flush=True)
