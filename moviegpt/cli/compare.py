"""`simple_bigram.py --compare GPT_CHECKPOINT`: the bigram and the GPT on the same validation split, side by side."""

from __future__ import annotations

import argparse
import json

from moviegpt.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint
from moviegpt.cli.loading import local_checkpoint, on_device
from moviegpt.cli.paths import resolve_cache_dir
from moviegpt.cli.settings import from_flags, run_config
from moviegpt.data.corpus import Corpus, DataConfig, load_corpus
from moviegpt.errors import UserError
from moviegpt.evaluation import EvalResult, evaluate_ids
from moviegpt.models import LanguageModel
from moviegpt.tokenizer import TokenizerSpec
from moviegpt.training.run import build_run

TOKENIZER_ARGS = ("tokenizer", "vocab_size", "min_freq")  # the bigram must read the text as the GPT did


def gpt_data(args: argparse.Namespace, gpt_args: dict) -> DataConfig:
    """The GPT's own training data, read with the GPT's tokenizer settings."""
    settings = {k: gpt_args.get(k, getattr(args, k)) for k in TOKENIZER_ARGS}
    spec = from_flags(
        TokenizerSpec,
        args,
        kind=settings["tokenizer"],
        vocab_size=settings["vocab_size"],
        min_freq=settings["min_freq"],
    )
    return DataConfig(list(gpt_args["training_data"]), resolve_cache_dir(args.cache_dir), spec)


def bigram_and_corpus(args: argparse.Namespace, data: DataConfig) -> tuple[LanguageModel, Corpus]:
    """The bigram to compare (--checkpoint's, else one trained now on the GPT's data) and that data."""
    if not args.checkpoint:
        print(f"training the bigram on the GPT's data: {', '.join(data.sources)}", flush=True)
        run = build_run(run_config(args, data=data))
        run.train()
        return run.model, run.corpus
    model, _ = model_from_checkpoint(load_checkpoint(local_checkpoint(args.checkpoint, args)))
    if model.config.to_dict().get("kind") != "bigram":
        raise UserError(f"--checkpoint {args.checkpoint} is not a bigram checkpoint")
    return model, load_corpus(data)


def gpt_checkpoint(args: argparse.Namespace) -> Checkpoint:
    checkpoint = load_checkpoint(local_checkpoint(args.compare, args))
    if checkpoint.model_config.get("kind", "gpt") != "gpt":
        raise UserError(f"--compare takes a GPT checkpoint; {args.compare} holds a bigram")
    if not (checkpoint.train_args or {}).get("training_data"):
        raise UserError(f"{args.compare} does not record its training data; cannot rebuild its validation split")
    return checkpoint


def compare_command(args: argparse.Namespace) -> None:
    checkpoint = gpt_checkpoint(args)
    gpt, tokenizer = model_from_checkpoint(checkpoint)
    bigram, corpus = bigram_and_corpus(args, gpt_data(args, checkpoint.train_args))
    if corpus.tokenizer.to_dict() != tokenizer.to_dict():
        raise UserError("the GPT's training data changed since it was trained (its tokenizer differs)")
    val = corpus.dataset.splits["val"]
    rows = []
    for name, model in (("bigram", bigram), ("GPT", gpt)):
        loaded = on_device(model, tokenizer, None, args, name)
        rows.append((name, loaded.model, evaluate_ids(loaded.model, tokenizer, val, args.eval_stride, loaded.device)))
    print_comparison(rows, args, len(val))


def print_comparison(
    rows: list[tuple[str, LanguageModel, EvalResult]], args: argparse.Namespace, val_chars: int
) -> None:
    if args.json:
        print(
            json.dumps(
                {name: {"parameters": model.num_parameters(), **result.to_dict()} for name, model, result in rows}
            ),
            flush=True,
        )
        return
    print(f"\nvalidation split of the GPT's data ({val_chars:,} characters), exact sliding-window loss:\n")
    print("| model | parameters | context | val loss | bits per character | perplexity |")
    print("|---|---|---|---|---|---|")
    for name, model, result in rows:
        print(
            f"| {name} | {model.num_parameters():,} | {model.config.context_length} | {result.loss:.4f} "
            f"| {result.bits_per_character:.4f} | {result.perplexity:.3f} |"
        )
