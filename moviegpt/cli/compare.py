"""`simple_bigram.py --compare GPT_CHECKPOINT`: the bigram and the GPT on the same validation split, side by side."""

from __future__ import annotations

import dataclasses
import json

from moviegpt.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint
from moviegpt.cli.loading import local_checkpoint, on_device
from moviegpt.cli.paths import resolve_cache_dir
from moviegpt.cli.settings import Settings
from moviegpt.cli.train import run_config
from moviegpt.data.corpus import Corpus, DataConfig, load_corpus
from moviegpt.errors import UserError
from moviegpt.evaluation import EvalResult, evaluate_ids
from moviegpt.models import LanguageModel
from moviegpt.tokenizer import TokenizerSpec
from moviegpt.training.run import build_run


def gpt_data(settings: Settings, gpt_settings: dict) -> DataConfig:
    """The GPT's own training data, read with the GPT's tokenizer settings (the bigram must read it as it did)."""
    saved = {f.name: gpt_settings[f.name] for f in dataclasses.fields(TokenizerSpec) if f.name in gpt_settings}
    spec = dataclasses.replace(settings.tokenizer, **saved)
    return DataConfig(list(gpt_settings["training_data"]), resolve_cache_dir(settings.runtime.cache_dir), spec)


def bigram_and_corpus(settings: Settings, data: DataConfig) -> tuple[LanguageModel, Corpus]:
    """The bigram to compare (--checkpoint's, else one trained now on the GPT's data) and that data."""
    checkpoint = settings.command.checkpoint
    if not checkpoint:
        print(f"training the bigram on the GPT's data: {', '.join(data.sources)}", flush=True)
        run = build_run(run_config(settings, data=data))
        run.train()
        return run.model, run.corpus
    model, _ = model_from_checkpoint(load_checkpoint(local_checkpoint(checkpoint, settings)))
    if model.config.to_dict().get("kind") != "bigram":
        raise UserError(f"--checkpoint {checkpoint} is not a bigram checkpoint")
    return model, load_corpus(data)


def gpt_checkpoint(settings: Settings) -> Checkpoint:
    source = settings.command.compare
    checkpoint = load_checkpoint(local_checkpoint(source, settings))
    if checkpoint.model_config.get("kind", "gpt") != "gpt":
        raise UserError(f"--compare takes a GPT checkpoint; {source} holds a bigram")
    if not (checkpoint.train_args or {}).get("training_data"):
        raise UserError(f"{source} does not record its training data; cannot rebuild its validation split")
    return checkpoint


def compare_command(settings: Settings) -> None:
    checkpoint = gpt_checkpoint(settings)
    gpt, tokenizer = model_from_checkpoint(checkpoint)
    bigram, corpus = bigram_and_corpus(settings, gpt_data(settings, checkpoint.train_args))
    if corpus.tokenizer.to_dict() != tokenizer.to_dict():
        raise UserError("the GPT's training data changed since it was trained (its tokenizer differs)")
    val = corpus.dataset.splits["val"]
    rows = []
    for name, model in (("bigram", bigram), ("GPT", gpt)):
        loaded = on_device(model, tokenizer, None, settings, name)
        stride = settings.command.eval_stride
        rows.append((name, loaded.model, evaluate_ids(loaded.model, tokenizer, val, stride, loaded.device)))
    print_comparison(rows, settings.command.json, len(val))


def print_comparison(rows: list[tuple[str, LanguageModel, EvalResult]], as_json: bool, val_chars: int) -> None:
    if as_json:
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
