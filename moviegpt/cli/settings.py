"""From flags to typed configs: each config checks its values once, and a bad one is reported by its flag name."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import fields
from pathlib import Path
from typing import TypeVar

from moviegpt.checkpoint import Checkpoint
from moviegpt.cli.arguments import SCRIPTS
from moviegpt.cli.paths import resolve_cache_dir, resolve_training_data
from moviegpt.data.corpus import DataConfig
from moviegpt.data.sources import resolve_sources
from moviegpt.errors import ConfigError, UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.records import RecordFormat
from moviegpt.tokenizer import TokenizerSpec, tokenizer_from_dict
from moviegpt.training.config import TrainConfig
from moviegpt.training.presets import LEGACY_RECIPE, MODEL_OPTIONS
from moviegpt.training.run import ModelSettings, Resume, RunConfig

T = TypeVar("T")
FLAG_OF_FIELD = {"strategy": "decode", "kind": "tokenizer"}  # config fields whose flag has another name

# What a resumed run takes from its checkpoint: fixed (a different explicit value is refused) or defaulted.
RESUME_FIXED = (
    *MODEL_OPTIONS,
    "optimizer",
    "muon_lr",
    "schedule",
    "cooldown_frac",
    "batch_size",
    "context_length",
    "n_embd",
    "n_head",
    "n_layer",
    "dropout",
    "lr",
    "grad_accum",
    "seed",
    "tokenizer",
    "vocab_size",
    "min_freq",
)
RESUME_DEFAULTED = (
    "epochs",
    "max_iters",
    "max_minutes",
    "eval_iters",
    "eval_interval",
    "logging_steps",
    "keep_checkpoints",
    "checkpoint_every_minutes",
    "checkpoint_every_steps",
    "dtype",
    "compile",
    "wandb_project",
    "cache_dir",
)


# Flags that only shape a training run: given with --checkpoint (generate, evaluate, serve, convert) they do nothing.
TRAINING_ONLY = (
    *RESUME_FIXED,
    *RESUME_DEFAULTED,
    "preset",
    "schedule",
    "cooldown_frac",
    "out_dir",
    "resume",
    "init_from",
    "wandb",
    "dist_timeout_minutes",
)


def ignored_training_flags(args: argparse.Namespace) -> list[str]:
    """The training flags given to a command that loads --checkpoint (they would be silently ignored)."""
    if not args.checkpoint or args.compare:
        return []
    also_for_generation = {"seed", "dtype", "cache_dir"}
    return [f"--{n}" for n in dict.fromkeys(TRAINING_ONLY) if n in args.explicit and n not in also_for_generation]


def from_flags(config_class: type[T], args: argparse.Namespace, **values: object) -> T:
    """Build a config dataclass from the flags named like its fields (and explicit values); a ConfigError naming
    a field becomes a UserError naming its flag."""
    for f in fields(config_class):
        flag = FLAG_OF_FIELD.get(f.name, f.name)
        if f.name not in values and hasattr(args, flag):
            values[f.name] = getattr(args, flag)
    try:
        return config_class(**values)
    except ConfigError as exc:
        raise UserError(f"--{FLAG_OF_FIELD.get(exc.field, exc.field)} {exc.problem}") from None


def stop_strings(args: argparse.Namespace, record_format: RecordFormat | None) -> list[str]:
    if args.no_stop:
        return []
    if args.stop:
        return args.stop
    return [record_format.end] if record_format else []


def generation_config(args: argparse.Namespace, record_format: RecordFormat | None = None) -> GenerationConfig:
    return from_flags(GenerationConfig, args, stop_strings=stop_strings(args, record_format))


def train_config(args: argparse.Namespace) -> TrainConfig:
    return from_flags(TrainConfig, args)


def model_settings(args: argparse.Namespace) -> ModelSettings:
    options = {} if args.model == "bigram" else {name: getattr(args, name) for name in MODEL_OPTIONS}
    return from_flags(ModelSettings, args, kind=args.model, options=options)


def data_config(args: argparse.Namespace) -> DataConfig:
    spec = from_flags(TokenizerSpec, args, kind=args.tokenizer)
    return DataConfig(resolve_training_data(args.training_data), resolve_cache_dir(args.cache_dir), spec)


def check_same_data(args: argparse.Namespace, saved: list[str]) -> None:
    """--training_data given with --resume must name the run's own files (resolved, in order)."""
    given = resolve_sources(args.training_data, resolve_cache_dir(args.cache_dir) / "downloads")
    if [p.resolve() for p in given] != [Path(p).resolve() for p in saved]:
        raise UserError(
            f"--training_data {' '.join(args.training_data)} is not the data of the run being resumed "
            f"({', '.join(saved)}); leave it out, or start a new run"
        )


def merge_resume_args(args: argparse.Namespace, saved: dict) -> argparse.Namespace:
    """The run's own settings from its checkpoint; --epochs, --max_iters, --max_minutes may extend it. The same
    flags as the original command are accepted; one that would change the run is refused, naming it."""
    merged = vars(args).copy()
    for name in RESUME_FIXED:
        value = saved.get(name, LEGACY_RECIPE.get(name, merged[name]))  # a run from before the option: the old way
        if name in args.explicit and merged[name] != value:
            raise UserError(
                f"--{name} {merged[name]} conflicts with the run being resumed ({value}); leave it out to resume"
            )
        merged[name] = value
    for name in RESUME_DEFAULTED:
        if name not in args.explicit:
            merged[name] = saved.get(name, merged[name])
    if saved.get("model", "gpt") != args.model:
        kind = saved.get("model", "gpt")
        raise UserError(f"the run being resumed trained a {kind} model; resume it with {SCRIPTS[kind]}")
    if "training_data" in args.explicit:
        check_same_data(args, saved["training_data"])
    merged["training_data"] = saved["training_data"]
    return argparse.Namespace(**merged)


INIT_FIXED = ("context_length", "n_embd", "n_head", "n_layer", "dropout", *MODEL_OPTIONS)


def merge_init_args(args: argparse.Namespace, init: Checkpoint) -> argparse.Namespace:
    """--init_from: the model's sizes and options are the checkpoint's; a flag that differs is refused."""
    if args.resume:
        raise UserError("--init_from starts a new run from a checkpoint and --resume goes on with one: choose one")
    kind = init.model_config.get("kind", "gpt")
    if kind != args.model:
        raise UserError(f"--init_from {args.init_from} holds a {kind} model; fine-tune it with {SCRIPTS[kind]}")
    merged = vars(args).copy()
    for name in INIT_FIXED if kind == "gpt" else ("context_length",):
        value = init.model_config.get(name, LEGACY_RECIPE.get(name))
        if name in args.explicit and merged[name] != value:
            raise UserError(f"--{name} {merged[name]} differs from the model of --init_from ({value}); leave it out")
        merged[name] = value
    merged["tokenizer"] = init.tokenizer["kind"]
    return argparse.Namespace(**merged)


def run_config(
    args: argparse.Namespace,
    resume: Resume | None = None,
    data: DataConfig | None = None,
    init: Checkpoint | None = None,
) -> RunConfig:
    """The whole training run from flags (for --resume: args already merged with the checkpoint's); `data`
    replaces the flags' own training data (simple_bigram.py --compare trains on the GPT's); `init` is the
    --init_from checkpoint, whose tokenizer encodes the new text."""
    data = data or data_config(args)
    if init is not None:
        data = dataclasses.replace(data, fixed_tokenizer=tokenizer_from_dict(init.tokenizer))
    tokenizer = {
        "tokenizer": data.tokenizer.kind,
        "vocab_size": data.tokenizer.vocab_size,
        "min_freq": data.tokenizer.min_freq,
    }
    return RunConfig(
        data=data,
        model=model_settings(args),
        train=train_config(args),
        out_dir=args.out_dir,
        device=args.device,
        dtype=args.dtype,
        wandb_mode=args.wandb,
        wandb_project=args.wandb_project,
        resume=resume,
        init=init,
        run_args={**{k: v for k, v in vars(args).items() if k != "explicit"}, **tokenizer},
    )
