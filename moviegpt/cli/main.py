"""The dispatcher of gpt.py and simple_bigram.py: parse the flags, run the one command they ask for."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import torch

from moviegpt.cli.arguments import parse_settings
from moviegpt.cli.compare import compare_command
from moviegpt.cli.convert import convert_command
from moviegpt.cli.evaluate import evaluate_command
from moviegpt.cli.generate import generate_command
from moviegpt.cli.posters import poster_from_command
from moviegpt.cli.serve import serve_command
from moviegpt.cli.settings import Settings, check_conflicts, ignored_training_flags
from moviegpt.cli.train import train_command
from moviegpt.errors import Interrupted, UserError
from moviegpt.training.distributed import launched_rank

Command = Callable[[Settings], None]
# Flags that name a command of their own and need --checkpoint, with what the checkpoint is for.
WITH_CHECKPOINT: tuple[tuple[str, Command, str], ...] = (
    ("serve", serve_command, "the model to serve"),
    ("convert", convert_command, "the checkpoint to convert"),
    ("evaluate", evaluate_command, "the model to evaluate"),
)


def command_for(settings: Settings) -> Command:
    """The one command the flags ask for."""
    command = settings.command
    for flag, run, what in WITH_CHECKPOINT:
        if getattr(command, flag):
            if not command.checkpoint:
                raise UserError(f"--{flag} needs --checkpoint ({what})")
            return run
    if command.interactive and not command.checkpoint:  # (it would train the original preset first: hours)
        raise UserError("--interactive needs --checkpoint (the model to talk to)")
    if command.poster_from:
        return poster_from_command
    if command.compare:
        return compare_command
    return generate_command if command.checkpoint else train_command


def main(argv: list[str] | None = None, model: str = "gpt") -> int:
    """gpt.py (model "gpt") and simple_bigram.py (model "bigram"): train, generate, evaluate, compare, serve."""
    try:
        settings = parse_settings(argv, model)
        check_conflicts(settings)
        command = command_for(settings)
        ignored = ignored_training_flags(settings)
        if ignored:
            print(
                f"warning: {', '.join(ignored)} {'applies' if len(ignored) == 1 else 'apply'} only to training; "
                "ignored with --checkpoint (the model's own settings are used)",
                file=sys.stderr,
            )
        command(settings)
    except UserError as exc:
        if launched_rank() == 0:  # under torchrun rank 0 says it once; every rank checks the same input
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except (MemoryError, torch.OutOfMemoryError) as exc:
        lower = "--batch_size (training), --num_samples (generation) or the model's size"
        print(f"error: out of memory ({type(exc).__name__}); lower {lower}", file=sys.stderr)
        return 2
    except Interrupted:
        return 130
    except BrokenPipeError:  # the output went into a pipe that closed (| head): nothing more to say, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        if launched_rank() == 0:
            print("interrupted", file=sys.stderr)
        return 130
    return 0
