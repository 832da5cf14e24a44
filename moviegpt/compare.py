"""`simple_bigram.py --compare GPT_CHECKPOINT`: the bigram and the GPT on the same validation split, side by side."""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from .checkpoint import load_checkpoint, model_from_checkpoint
from .commands import local_checkpoint
from .data import TextDataset
from .distributed import SINGLE
from .errors import UserError
from .evaluation import EvalResult, evaluate_ids
from .runtime import prepare_for_inference, resolve_device, resolve_inference_dtype
from .tokenizer import Tokenizer
from .train_command import load_corpus, run_training


TOKENIZER_ARGS = ("tokenizer", "vocab_size", "min_freq")  # the bigram must read the text as the GPT did


def bigram_and_validation_split(args: argparse.Namespace, gpt_args: dict
                                 ) -> tuple[torch.nn.Module, Tokenizer, np.ndarray]:
    """The bigram to compare (--checkpoint's, else one trained now on the GPT's own data with the GPT's
    tokenizer), the tokenizer of that data and its validation split."""
    training_data = gpt_args["training_data"]
    same_data = {"training_data": training_data, **{k: gpt_args[k] for k in TOKENIZER_ARGS if k in gpt_args}}
    data_args = argparse.Namespace(**{**vars(args), **same_data, "explicit": args.explicit | set(same_data)})
    if not args.checkpoint:
        print(f"training the bigram on the GPT's data: {', '.join(training_data)}", flush=True)
        run = run_training(data_args)
        return run.model, run.tokenizer, run.dataset.splits["val"]
    model, _ = model_from_checkpoint(load_checkpoint(local_checkpoint(args.checkpoint, args)))
    if model.config.to_dict().get("kind") != "bigram":
        raise UserError(f"--checkpoint {args.checkpoint} is not a bigram checkpoint")
    _, corpus = load_corpus(data_args, SINGLE)
    return model, corpus.tokenizer, TextDataset.from_tokens(corpus.tokens, corpus.tokenizer).splits["val"]


def compare_command(args: argparse.Namespace) -> None:
    gpt_state = load_checkpoint(local_checkpoint(args.compare, args))
    if gpt_state["model_config"].get("kind", "gpt") != "gpt":
        raise UserError(f"--compare takes a GPT checkpoint; {args.compare} holds a bigram")
    gpt, tokenizer = model_from_checkpoint(gpt_state)
    gpt_args = gpt_state.get("train_args", {})
    if not gpt_args.get("training_data"):
        raise UserError(f"{args.compare} does not record its training data; cannot rebuild its validation split")
    bigram, data_tokenizer, val = bigram_and_validation_split(args, gpt_args)
    if data_tokenizer.to_dict() != tokenizer.to_dict():
        raise UserError("the GPT's training data changed since it was trained (its tokenizer differs)")
    device = resolve_device(args.device)
    dtype = resolve_inference_dtype(args.dtype, device)
    rows = []
    for name, model in (("bigram", bigram), ("GPT", gpt)):
        result = evaluate_ids(prepare_for_inference(model, device, dtype), tokenizer, val, args.eval_stride,
                              device)
        rows.append((name, model, result))
    print_comparison(rows, args, len(val))


def print_comparison(rows: list[tuple[str, object, EvalResult]], args: argparse.Namespace, val_chars: int) -> None:
    if args.json:
        print(json.dumps({name: {"parameters": model.num_parameters(), **result.to_dict()}
                          for name, model, result in rows}), flush=True)
        return
    print(f"\nvalidation split of the GPT's data ({val_chars:,} characters), exact sliding-window loss:\n")
    print("| model | parameters | context | val loss | bits per character | perplexity |")
    print("|---|---|---|---|---|---|")
    for name, model, result in rows:
        print(f"| {name} | {model.num_parameters():,} | {model.config.context_length} | {result.loss:.4f} "
              f"| {result.bits_per_character:.4f} | {result.perplexity:.3f} |")
