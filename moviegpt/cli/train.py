"""`gpt.py --training_data FILE` / `--resume RUN`: one training run (in one process or under torchrun), then a
generation from the trained model."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from moviegpt.checkpoint import Checkpoint, load_checkpoint, newest_good_checkpoint
from moviegpt.cli.generate import check_output_folders, generate_and_save
from moviegpt.cli.loading import LoadedModel, local_checkpoint, on_device
from moviegpt.cli.paths import resolve_cache_dir, resolve_training_data
from moviegpt.cli.settings import SCRIPTS, Settings, initialised, resumed
from moviegpt.data.corpus import DataConfig
from moviegpt.data.download import is_remote
from moviegpt.data.sources import resolve_sources
from moviegpt.errors import Interrupted, UserError
from moviegpt.tokenizer import tokenizer_from_dict
from moviegpt.training.distributed import DistContext, init_distributed, peer_gone, shutdown
from moviegpt.training.run import Resume, RunConfig, TrainingInterrupted, TrainingRun, build_run


def data_config(settings: Settings) -> DataConfig:
    data = resolve_training_data(settings.command.training_data)
    return DataConfig(data, resolve_cache_dir(settings.runtime.cache_dir), settings.tokenizer)


def run_config(
    settings: Settings, resume: Resume | None = None, init: Checkpoint | None = None, data: DataConfig | None = None
) -> RunConfig:
    """The whole training run; `data` replaces the flags' own training data (simple_bigram.py --compare trains on
    the GPT's); `init` is the --init_from checkpoint, whose tokenizer encodes the new text."""
    data = data or data_config(settings)
    if init is not None:
        data = dataclasses.replace(data, fixed_tokenizer=tokenizer_from_dict(init.tokenizer))
    return RunConfig(
        data,
        settings.model,
        settings.train,
        settings.run,
        settings.runtime,
        resume,
        init,
        settings.saved(),
        settings.explicit,
    )


def check_same_data(settings: Settings, saved: list[str]) -> None:
    """--training_data given with --resume must name the run's own files (resolved, in order)."""
    given = settings.command.training_data
    files = resolve_sources(given, resolve_cache_dir(settings.runtime.cache_dir) / "downloads")
    if [p.resolve() for p in files] != [Path(p).resolve() for p in saved]:
        raise UserError(
            f"--training_data {' '.join(given)} is not the data of the run being resumed "
            f"({', '.join(saved)}); leave it out, or start a new run"
        )


def resume_point(settings: Settings) -> tuple[Settings, Resume | None]:
    """For --resume: the settings of the run being resumed, and the checkpoint and folder to go on from."""
    if not settings.run.resume:
        return settings, None
    spec = settings.run.resume
    path, checkpoint, skipped = newest_good_checkpoint(local_checkpoint(spec, settings))
    for problem in skipped:
        print(f"skipping a damaged checkpoint: {problem}", flush=True)
    print(f"resuming from {path} (step {checkpoint.trainer['step']}, epoch {checkpoint.trainer['epoch']})", flush=True)
    saved = checkpoint.train_args or {}
    settings = resumed(settings, saved, checkpoint.model_config)
    if "training_data" in settings.explicit:
        check_same_data(settings, saved["training_data"])
    settings = settings.with_values(training_data=saved["training_data"])
    folder = None if is_remote(spec) else path.parent  # a downloaded run goes on in a new folder
    return settings, Resume(checkpoint, folder)


def checked_config(settings: Settings, context: DistContext) -> tuple[Settings, RunConfig]:
    """Every setting checked (training, model, outputs folder) before anything is created."""
    settings, resume = resume_point(settings)
    init = None
    if settings.run.init_from:
        init = load_checkpoint(local_checkpoint(settings.run.init_from, settings))
        settings = initialised(settings, init.model_config, init.tokenizer["kind"], settings.run.init_from)
    config = run_config(settings, resume, init=init)
    if context.is_main:
        check_output_folders(settings.command)
    return settings, config


def launcher(kind: str, env: Mapping[str, str] = os.environ) -> str:
    """How this run was started, to say how to go on: python, or torchrun with as many processes per node."""
    if "LOCAL_RANK" not in env:  # torchrun sets it (and LOCAL_WORLD_SIZE) in every process it starts
        return f"python {SCRIPTS[kind]}"
    return f"torchrun --nproc_per_node {env.get('LOCAL_WORLD_SIZE', '1')} {SCRIPTS[kind]}"


def train(settings: Settings, context: DistContext, rank_device) -> tuple[Settings, TrainingRun]:
    settings, config = checked_config(settings, context)
    run = build_run(config, context, rank_device)
    try:
        run.train()
    except TrainingInterrupted as stop:
        if stop.complete:
            print(f"interrupted after the last step: the run in {stop.out_dir} is complete", flush=True)
        else:
            print(f"interrupted; to go on: {launcher(settings.kind)} --resume {stop.out_dir}", flush=True)
        raise Interrupted from None
    return settings, run


def train_command(settings: Settings) -> None:
    """Train (under torchrun too), then generate from the trained model on rank 0."""
    context, rank_device = init_distributed(settings.runtime.device, settings.run.dist_timeout_minutes)
    finished = False
    try:
        if not context.is_main:
            # Only rank 0 prints (errors still reach stderr); the file stays open for the life of the process.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        settings, run = train(settings, context, rank_device)
        finished = True
    except RuntimeError as exc:
        if not (context.enabled and peer_gone(exc)):
            raise
        raise UserError("another process of this torchrun job stopped; its message is above") from None
    finally:
        shutdown(context, finished)
    if context.is_main:
        corpus = run.corpus
        dropout = run.config.train.title_dropout  # (as trained: off where the text had no titles)
        loaded: LoadedModel = on_device(
            run.model, corpus.tokenizer, corpus.record_format, settings, "a new run", run.device, dropout
        )
        generate_and_save(loaded, settings)
