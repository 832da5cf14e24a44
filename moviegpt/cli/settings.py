"""From flags to typed configs: each config checks its values once, and a bad one is reported by its flag name."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from moviegpt.cli.paths import resolve_cache_dir, resolve_training_data
from moviegpt.data.corpus import DataConfig
from moviegpt.data.sources import resolve_sources
from moviegpt.errors import ConfigError, UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.records import RecordFormat
from moviegpt.tokenizer import TokenizerSpec
from moviegpt.training.config import TrainConfig
from moviegpt.training.run import ModelSettings, Resume, RunConfig

T = TypeVar("T")
FLAG_OF_FIELD = {"strategy": "decode", "kind": "tokenizer"}  # config fields whose flag has another name

# What a resumed run takes from its checkpoint: fixed (a different explicit value is refused) or defaulted.
RESUME_FIXED = (
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


def from_flags(build: Callable[[], T]) -> T:
    """Build a config; a ConfigError naming a field becomes one naming its flag."""
    try:
        return build()
    except ConfigError as exc:
        raise UserError(f"--{FLAG_OF_FIELD.get(exc.field, exc.field)} {exc.problem}") from None


def stop_strings(args: argparse.Namespace, record_format: RecordFormat | None) -> list[str]:
    if args.no_stop:
        return []
    if args.stop:
        return args.stop
    return [record_format.end] if record_format else []


def generation_config(args: argparse.Namespace, record_format: RecordFormat | None = None) -> GenerationConfig:
    return from_flags(
        lambda: GenerationConfig(
            max_new_tokens=args.max_new_tokens,
            strategy=args.decode,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            repetition_penalty=args.repetition_penalty,
            num_beams=args.num_beams,
            num_samples=args.num_samples,
            stop_strings=stop_strings(args, record_format),
            seed=args.seed,
        )
    )


def train_config(args: argparse.Namespace) -> TrainConfig:
    return from_flags(
        lambda: TrainConfig(
            batch_size=args.batch_size,
            lr=args.lr,
            epochs=args.epochs,
            max_iters=args.max_iters,
            max_minutes=args.max_minutes,
            eval_iters=args.eval_iters,
            eval_interval=args.eval_interval,
            logging_steps=args.logging_steps,
            seed=args.seed,
            keep_checkpoints=args.keep_checkpoints,
            checkpoint_every_minutes=args.checkpoint_every_minutes,
            checkpoint_every_steps=args.checkpoint_every_steps,
            grad_accum=args.grad_accum,
            compile=args.compile,
        )
    )


def model_settings(args: argparse.Namespace) -> ModelSettings:
    return from_flags(
        lambda: ModelSettings(
            kind=args.model,
            context_length=args.context_length,
            n_embd=args.n_embd,
            n_head=args.n_head,
            n_layer=args.n_layer,
            dropout=args.dropout,
        )
    )


def data_config(args: argparse.Namespace) -> DataConfig:
    spec = from_flags(lambda: TokenizerSpec(args.tokenizer, args.vocab_size, args.min_freq))
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
        value = saved.get(name, merged[name])
        if name in args.explicit and merged[name] != value:
            raise UserError(
                f"--{name} {merged[name]} conflicts with the run being resumed ({value}); leave it out to resume"
            )
        merged[name] = value
    for name in RESUME_DEFAULTED:
        if name not in args.explicit:
            merged[name] = saved.get(name, merged[name])
    if saved.get("model", "gpt") != args.model:
        script = "gpt.py" if saved.get("model", "gpt") == "gpt" else "simple_bigram.py"
        raise UserError(f"the run being resumed trained a {saved.get('model', 'gpt')} model; resume it with {script}")
    if "training_data" in args.explicit:
        check_same_data(args, saved["training_data"])
    merged["training_data"] = saved["training_data"]
    return argparse.Namespace(**merged)


def run_config(args: argparse.Namespace, resume: Resume | None = None) -> RunConfig:
    """The whole training run from flags (for --resume: args already merged with the checkpoint's)."""
    run_args = {k: v for k, v in vars(args).items() if k != "explicit"}
    return RunConfig(
        data=data_config(args),
        model=model_settings(args),
        train=train_config(args),
        out_dir=args.out_dir,
        device=args.device,
        dtype=args.dtype,
        wandb_mode=args.wandb,
        wandb_project=args.wandb_project,
        resume=resume,
        run_args=run_args,
    )
