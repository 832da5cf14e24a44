"""`gpt.py --checkpoint CKPT --evaluate FILE`: the exact loss of the model on every character of FILE, and on
movie-format text how much the model uses the titles."""

from __future__ import annotations

import json

from moviegpt.cli.loading import load_for_inference
from moviegpt.cli.settings import Settings
from moviegpt.data.textfile import read_text
from moviegpt.errors import UserError
from moviegpt.evaluation import evaluate_text, spread, title_measures
from moviegpt.records import RecordFormat, parse_movies


def evaluate_command(settings: Settings) -> None:
    command = settings.command
    loaded = load_for_inference(settings, exact=True)
    dtype = str(next(loaded.model.parameters()).dtype).removeprefix("torch.")
    text = read_text(command.evaluate, what="--evaluate file")
    result = evaluate_text(loaded.model, loaded.tokenizer, text, command.eval_stride, loaded.device)
    if result.tokens == 0:
        raise UserError(f"nothing to evaluate: {command.evaluate} has fewer than two characters the model knows")
    fmt = loaded.record_format or RecordFormat()
    movies = spread(parse_movies(text, fmt), command.title_movies)
    titles = title_measures(loaded.model, loaded.tokenizer, movies, fmt, loaded.device)
    if command.json:
        report = {"checkpoint": command.checkpoint, "file": command.evaluate, "dtype": dtype, **result.to_dict()}
        print(json.dumps({**report, "title": titles.to_dict() if titles else None}), flush=True)
        return
    print(f"{result.summary()} (weights in {dtype})", flush=True)
    if titles:
        print(titles.summary(), flush=True)
