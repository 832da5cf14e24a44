"""`gpt.py --checkpoint CKPT --evaluate FILE`: the exact loss of the model on every character of FILE."""

from __future__ import annotations

import argparse
import json

from moviegpt.cli.loading import load_for_inference
from moviegpt.data.textfile import read_text
from moviegpt.errors import UserError
from moviegpt.evaluation import evaluate_text


def evaluate_command(args: argparse.Namespace) -> None:
    loaded = load_for_inference(args)
    text = read_text(args.evaluate, what="--evaluate file")
    result = evaluate_text(loaded.model, loaded.tokenizer, text, args.eval_stride, loaded.device)
    if result.tokens == 0:
        raise UserError(f"nothing to evaluate: {args.evaluate} has fewer than two characters the model knows")
    if args.json:
        print(
            json.dumps({"checkpoint": str(args.checkpoint), "file": str(args.evaluate), **result.to_dict()}), flush=True
        )
    else:
        print(result.summary(), flush=True)
