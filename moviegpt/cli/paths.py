"""Where things are by default: the training text and the cache folder."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_TRAINING_DATA = "dataset/movie_descriptions.txt"
SAMPLE_DATA = Path(__file__).resolve().parents[2] / "dataset" / "simple_movies.txt"


def resolve_training_data(specs: list[str] | None) -> list[str]:
    """What to train on: the flag, else dataset/movie_descriptions.txt, else the shipped sample."""
    if specs:
        return specs
    if Path(DEFAULT_TRAINING_DATA).exists():
        return [DEFAULT_TRAINING_DATA]
    print(
        f"{DEFAULT_TRAINING_DATA} not found: training on the shipped sample {SAMPLE_DATA} "
        "(see dataset/README.md for the full Letterboxd data)",
        flush=True,
    )
    return [str(SAMPLE_DATA)]


def resolve_cache_dir(cache_dir: str | None) -> Path:
    """--cache_dir, else $MOVIEGPT_CACHE_DIR, else $XDG_CACHE_HOME/moviegpt or ~/.cache/moviegpt."""
    if cache_dir:
        return Path(cache_dir)
    if os.environ.get("MOVIEGPT_CACHE_DIR"):
        return Path(os.environ["MOVIEGPT_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "moviegpt"
