"""`gpt.py --checkpoint CKPT`: generate from a checkpoint (one prompt, a title, or the loop); also after training."""

from __future__ import annotations

import argparse
import sys

from moviegpt.cli.interactive import Session, repl
from moviegpt.cli.loading import LoadedModel, load_for_inference
from moviegpt.cli.posters import poster_credit, save_posters
from moviegpt.cli.settings import generation_config
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.outputs import check_outputs_dir, save_output


def read_prompt(prompt: str | None) -> str:
    """--prompt if given; else ask when stdin is a terminal; else the empty prompt."""
    if prompt is not None:
        return prompt
    if not sys.stdin.isatty():
        return ""
    try:
        return input("Prompt (empty: a new movie from scratch): ")
    except EOFError:
        return ""


def generate_and_save(loaded: LoadedModel, args: argparse.Namespace) -> None:
    """Generate as the flags say (one prompt, a title, or the interactive loop) and save under outputs/."""
    session = Session(
        loaded.model,
        loaded.tokenizer,
        generation_config(args, loaded.record_format),
        loaded.record_format,
        typewriter=args.typewriter,
    )

    def posters(text: str, config: GenerationConfig) -> None:
        credit = poster_credit(loaded.model, config, loaded.name)
        save_posters(text, loaded.record_format, credit, args.posters_dir)

    if args.interactive:
        repl(session, args.outputs_dir, poster=posters)
        return
    if args.title is not None:
        prompt = session.title_prompt(args.title)
    else:
        prompt = read_prompt(args.prompt) or session.default_prompt()
    text = session.run(prompt)
    print(f"saved to {save_output(text, args.outputs_dir)}")
    if args.poster:
        posters(text, session.config)


def generate_command(args: argparse.Namespace) -> None:
    generation_config(args)  # bad settings are refused before the checkpoint is loaded
    check_outputs_dir(args.outputs_dir)
    generate_and_save(load_for_inference(args), args)
