"""`gpt.py --checkpoint CKPT --serve`: load the checkpoint once, then serve the local web page until Ctrl-C."""

from __future__ import annotations

import argparse
from pathlib import Path

from moviegpt.cli.loading import load_for_inference
from moviegpt.cli.posters import poster_credit
from moviegpt.cli.settings import generation_config
from moviegpt.web.server import WebGenerator, serve


def serve_command(args: argparse.Namespace) -> None:
    generation_config(args)  # bad settings are refused before the checkpoint is loaded
    loaded = load_for_inference(args)
    generator = WebGenerator(
        loaded.model,
        loaded.tokenizer,
        loaded.record_format,
        generation_config(args, loaded.record_format),
        Path(args.posters_dir),
        lambda config: poster_credit(loaded.model, config, loaded.name),
        loaded.name,
    )
    serve(generator, args.host, args.port)
