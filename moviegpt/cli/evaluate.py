"""`gpt.py --checkpoint CKPT --evaluate FILE`: the exact loss of the model on every character of FILE."""

from __future__ import annotations

import json

from moviegpt.cli.loading import load_for_inference
from moviegpt.cli.settings import Settings
from moviegpt.data.textfile import read_text
from moviegpt.errors import UserError
from moviegpt.evaluation import evaluate_text


def evaluate_command(settings: Settings) -> None:
    command = settings.command
    loaded = load_for_inference(settings)
    text = read_text(command.evaluate, what="--evaluate file")
    result = evaluate_text(loaded.model, loaded.tokenizer, text, command.eval_stride, loaded.device)
    if result.tokens == 0:
        raise UserError(f"nothing to evaluate: {command.evaluate} has fewer than two characters the model knows")
    if command.json:
        print(json.dumps({"checkpoint": command.checkpoint, "file": command.evaluate, **result.to_dict()}), flush=True)
    else:
        print(result.summary(), flush=True)
