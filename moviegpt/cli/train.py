"""`gpt.py --training_data FILE` / `--resume RUN`: one training run (in one process or under torchrun), then a
generation from the trained model."""

from __future__ import annotations

import argparse
import os
import sys

from moviegpt.checkpoint import load_checkpoint, newest_good_checkpoint
from moviegpt.cli.arguments import SCRIPTS
from moviegpt.cli.generate import generate_and_save
from moviegpt.cli.loading import LoadedModel, local_checkpoint, on_device
from moviegpt.cli.settings import generation_config, merge_init_args, merge_resume_args, run_config
from moviegpt.data.download import is_remote
from moviegpt.generation.outputs import check_outputs_dir
from moviegpt.training.distributed import DistContext, init_distributed, shutdown
from moviegpt.training.run import (
    Resume,
    RunConfig,
    TrainingInterrupted,
    TrainingRun,
    build_run,
)


def resume_point(args: argparse.Namespace) -> tuple[argparse.Namespace, Resume | None]:
    """For --resume: the flags of the run being resumed, and the checkpoint and folder to go on from."""
    if not args.resume:
        return args, None
    path, checkpoint, skipped = newest_good_checkpoint(local_checkpoint(args.resume, args))
    for problem in skipped:
        print(f"skipping a damaged checkpoint: {problem}", flush=True)
    print(f"resuming from {path} (step {checkpoint.trainer['step']}, epoch {checkpoint.trainer['epoch']})", flush=True)
    folder = None if is_remote(args.resume) else path.parent  # a downloaded run goes on in a new folder
    return merge_resume_args(args, checkpoint.train_args or {}), Resume(checkpoint, folder)


def checked_config(args: argparse.Namespace, context: DistContext) -> tuple[argparse.Namespace, RunConfig]:
    """Every setting checked (training, model, generation, outputs folder) before anything is created."""
    args, resume = resume_point(args)
    init = load_checkpoint(local_checkpoint(args.init_from, args)) if args.init_from else None
    if init is not None:
        args = merge_init_args(args, init)
    config = run_config(args, resume, init=init)
    generation_config(args)
    if context.is_main:
        check_outputs_dir(args.outputs_dir)
    return args, config


def train(args: argparse.Namespace, context: DistContext, rank_device) -> tuple[argparse.Namespace, TrainingRun]:
    args, config = checked_config(args, context)
    run = build_run(config, context, rank_device)
    try:
        run.train()
    except TrainingInterrupted as stop:
        print(f"interrupted; to go on: python {SCRIPTS[args.model]} --resume {stop.out_dir}", flush=True)
        raise KeyboardInterrupt from None
    return args, run


def train_command(args: argparse.Namespace) -> None:
    """Train (under torchrun too), then generate from the trained model on rank 0."""
    context, rank_device = init_distributed(args.device, args.dist_timeout_minutes)
    finished = False
    try:
        if not context.is_main:
            # Only rank 0 prints (errors still reach stderr); the file stays open for the life of the process.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        args, run = train(args, context, rank_device)
        finished = True
    finally:
        shutdown(context, finished)
    if context.is_main:
        loaded: LoadedModel = on_device(
            run.model, run.corpus.tokenizer, run.corpus.record_format, args, "a new run", run.device
        )
        generate_and_save(loaded, args)
