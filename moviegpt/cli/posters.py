"""Posters from the command line: --poster after a generation, :poster in the loop, and --poster_from FILE."""

from __future__ import annotations

from pathlib import Path

from moviegpt.cli.settings import Settings
from moviegpt.data.textfile import read_text
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.outputs import check_folder
from moviegpt.models import LanguageModel
from moviegpt.posters.render import make_posters
from moviegpt.records import RecordFormat


def poster_credit(model: LanguageModel, config: GenerationConfig, name: str) -> str:
    """The poster's small print: the model and the sampling settings it was generated with."""
    if config.decode == "sample":
        sampling = (
            f"temperature {config.temperature:g}"
            + (f", top_k {config.top_k}" if config.top_k else "")
            + (f", top_p {config.top_p:g}" if config.top_p else "")
        )
    else:
        sampling = config.decode + (f", {config.num_beams} beams" if config.decode == "beam" else "")
    return f"written by MovieGPT · {name} · {model.num_parameters() / 1e6:.1f}M parameters · {sampling}"


def save_posters(text: str, record_format: RecordFormat | None, credit: str, posters_dir: str) -> list[Path]:
    paths = make_posters(text, record_format, credit, posters_dir)
    for path in paths:
        print(f"poster saved to {path}", flush=True)
    if not paths:
        print("no movie record (The description of the movie named '...' is:) in the text: no poster", flush=True)
    return paths


def poster_from_command(settings: Settings) -> None:
    """--poster_from FILE: posters for the movies in a text already generated (no model needed)."""
    source = settings.command.poster_from
    check_folder(settings.command.posters_dir, "--posters_dir")
    text = read_text(source, what="--poster_from file")
    save_posters(text, None, f"written by MovieGPT · {Path(source).name}", settings.command.posters_dir)
