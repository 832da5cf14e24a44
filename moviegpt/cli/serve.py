"""`gpt.py --checkpoint CKPT --serve`: load the checkpoint once, then serve the local web page until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

from moviegpt.cli.loading import load_for_inference
from moviegpt.cli.posters import poster_credit
from moviegpt.cli.settings import Settings
from moviegpt.generation.outputs import check_folder
from moviegpt.web.server import WebGenerator, serve


def serve_command(settings: Settings) -> None:
    check_folder(settings.command.posters_dir, "--posters_dir")  # every request draws a poster
    loaded = load_for_inference(settings)
    generator = WebGenerator(
        loaded.model,
        loaded.tokenizer,
        loaded.record_format,
        loaded.generation(settings),
        Path(settings.command.posters_dir),
        lambda config: poster_credit(loaded.model, config, loaded.name),
        loaded.name,
        loaded.title_dropout,
    )
    serve(generator, settings.serve.host, settings.serve.port)
