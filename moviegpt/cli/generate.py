"""`gpt.py --checkpoint CKPT`: generate from a checkpoint (one prompt, a title, or the loop); also after training."""

from __future__ import annotations

import sys

from moviegpt.cli.interactive import GenerationInterrupted, Session, repl
from moviegpt.cli.loading import LoadedModel, load_for_inference
from moviegpt.cli.posters import poster_credit, save_posters
from moviegpt.cli.settings import CommandSettings, Settings
from moviegpt.errors import Interrupted
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.outputs import check_folder, save_output


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


def generate_and_save(loaded: LoadedModel, settings: Settings) -> None:
    """Generate as the flags say (one prompt, a title, or the interactive loop) and save under outputs/."""
    command = settings.command
    session = Session(
        loaded.model,
        loaded.tokenizer,
        loaded.generation(settings),
        loaded.record_format,
        typewriter=command.typewriter,
        new_seeds=command.interactive and "seed" not in settings.explicit,  # a new one for each, shown and saved
        title_dropout=loaded.title_dropout,
    )

    def posters(text: str, config: GenerationConfig) -> None:
        credit = poster_credit(loaded.model, config, loaded.name)
        save_posters(text, loaded.record_format, credit, command.posters_dir)

    if command.interactive:
        repl(session, command.outputs_dir, poster=posters)
        return
    try:
        if command.title is not None:
            text = session.run(title=command.title)
        else:
            text = session.run(prompt=read_prompt(command.prompt))
    except GenerationInterrupted as stop:
        print(f"\ninterrupted; what was generated is saved to {save_output(stop.text, command.outputs_dir)}")
        raise Interrupted from None
    print(f"saved to {save_output(text, command.outputs_dir)}")
    if command.poster:
        posters(session.last_movies, session.last_config or session.config)


def check_output_folders(command: CommandSettings) -> None:
    """The folders a generation will write into, checked before anything is loaded, trained or generated."""
    check_folder(command.outputs_dir, "--outputs_dir")
    if command.poster:
        check_folder(command.posters_dir, "--posters_dir")


def generate_command(settings: Settings) -> None:
    check_output_folders(settings.command)
    generate_and_save(load_for_inference(settings), settings)
