"""Generating for a person at a terminal: a Session (model, settings, printing) and the `>> ` loop (--interactive)."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from moviegpt.errors import Interrupted, UserError
from moviegpt.generation.best_of import Generated, describe_candidates
from moviegpt.generation.config import GenerationConfig, describe, live_settings
from moviegpt.generation.generate import generate_request
from moviegpt.generation.outputs import save_output, write_text
from moviegpt.generation.request import title_request
from moviegpt.generation.search import check_fits
from moviegpt.generation.streamers import TerminalStreamer, sample_header
from moviegpt.models import LanguageModel
from moviegpt.records import RecordFormat
from moviegpt.settings import Setting
from moviegpt.tokenizer import Tokenizer


def settable(config: GenerationConfig) -> dict[str, Setting]:
    """What `:set` can change: the generation settings declared live in the REPL."""
    return live_settings(config, "repl")


def help_line(config: GenerationConfig) -> str:
    return (
        f"type a prompt, or :title <name>, :set <setting> <value> ({', '.join(settable(config))}), :settings, "
        ":poster (the last movie as a poster), quit / exit / Ctrl-D; Ctrl-C stops a generation"
    )


class GenerationInterrupted(KeyboardInterrupt):
    """Ctrl-C during a generation; `text` is what had been generated (and printed) by then."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text


@dataclass
class Session:
    """A loaded model and the settings to generate with. With `new_seeds` (an interactive session without
    --seed) every generation draws a seed of its own; otherwise the n-th generation takes --seed + n."""

    model: LanguageModel
    tokenizer: Tokenizer
    config: GenerationConfig
    record_format: RecordFormat | None
    typewriter: bool = True
    out: TextIO = field(default_factory=lambda: sys.stdout)
    new_seeds: bool = False
    title_dropout: float = 0.0  # what the model was trained with (it sets the default guidance)
    generations: int = 0
    last_seed: int | None = None
    last_config: GenerationConfig | None = None  # what the last generation was made with (its poster credits it)
    last_movies: str = ""  # the last generation's samples alone (without best_of's other candidates): its posters

    def next_seed(self) -> int:
        self.last_seed = secrets.randbelow(2**31) if self.new_seeds else self.config.seed + self.generations
        self.generations += 1
        return self.last_seed

    def run(self, title: str | None = None, prompt: str = "") -> str:
        """Generate for a title (or a prompt) and print; returns the samples as one text (prompt included), after
        a line of the settings used (seed included). Ctrl-C raises GenerationInterrupted with the text so far."""
        request = title_request(self.config, self.record_format, self.title_dropout, title, prompt)
        prompt = request.prompt
        self.tokenizer.encode(prompt)  # unknown characters: an error before anything is printed
        check_fits(self.model, request.config, request.unconditional is not None)  # before the streamer's rows
        request = dataclasses.replace(request, config=dataclasses.replace(request.config, seed=self.next_seed()))
        config, streamer = request.config, None
        self.last_config = config
        try:
            streamer = TerminalStreamer(prompt, config.num_samples, self.typewriter, self.out)
            results = generate_request(self.model, self.tokenizer, request, streamer)
        except KeyboardInterrupt:
            shown = streamer.texts if streamer else [""] * config.num_samples
            results = [Generated(text) for text in shown]
            raise GenerationInterrupted(self.record(config, prompt, results) + "\n[interrupted]") from None
        streamer.finish([r.text for r in results])
        return self.record(config, prompt, results)

    def record(self, config: GenerationConfig, prompt: str, results: list[Generated]) -> str:
        """The text to save: a line of the settings used, then the samples (each with its candidates, if any)."""
        headers = [sample_header(i, len(results)) + prompt for i in range(len(results))]
        self.last_movies = "\n".join(h + r.text for h, r in zip(headers, results))
        samples = [h + r.text + describe_candidates(r) for h, r in zip(headers, results)]
        return f"# {describe(config)}\n" + "\n".join(samples)


def parse_setting(line: str, config: GenerationConfig) -> GenerationConfig:
    """`:set name value` -> a new config, checked as the flag of that name is."""
    parts, names = line.split(maxsplit=2), settable(config)
    if len(parts) != 3 or parts[1] not in names:
        raise UserError(f"usage: :set <{'|'.join(names)}> <value>")
    name, text = parts[1], parts[2].strip()
    try:
        values = {name: names[name].parse(text)}
        return dataclasses.replace(config, **values)
    except ValueError as exc:
        raise UserError(f"{name} {exc}") from None


COMMANDS = (":title", ":set", ":settings", ":poster")


class Repl:
    """The `>> ` loop; every generation is appended to one session file under outputs_dir; `:poster` draws the
    last generated movie."""

    def __init__(
        self, session: Session, outputs_dir: str | Path, poster: Callable[[str, GenerationConfig], object] | None = None
    ):
        self.session, self.outputs_dir, self.poster = session, outputs_dir, poster
        self.log: list[str] = []
        self.path: Path | None = None

    def command(self, line: str) -> None:
        """One line typed at the prompt."""
        session, word = self.session, line.split(maxsplit=1)[0] if line.strip() else ""
        if word.startswith(":") and word not in COMMANDS:
            raise UserError(
                f"unknown command {word}; the commands are {', '.join(COMMANDS)} (a prompt cannot start with :)"
            )
        if word == ":settings":
            session.out.write(describe(session.config, seed=False) + "\n")
        elif word == ":set":
            session.config = parse_setting(line, session.config)
            name = line.split()[1]
            session.out.write(f"{name} = {getattr(session.config, name)}\n")
        elif word == ":poster":
            if not self.log or self.poster is None:
                raise UserError("nothing generated yet: generate a movie first, then :poster")
            self.poster(session.last_movies, session.last_config or session.config)
        else:
            title = line[len(":title") :].strip()
            if word == ":title" and not title:
                raise UserError("usage: :title <name of the movie>")
            try:
                text = session.run(title=title) if word == ":title" else session.run(prompt=line)
            except GenerationInterrupted as stop:
                self.keep(stop.text)
                raise
            self.keep(text)
            if session.new_seeds:
                session.out.write(f"(seed {session.last_seed})\n")

    def keep(self, text: str) -> None:
        """Add a generation to the session file."""
        self.log.append(text)
        self.path = self.path or save_output("", self.outputs_dir, stem="session")
        write_text(self.path, "\n\n".join(self.log) + "\n")

    def read_line(self, stdin: TextIO) -> str:
        """The next line typed ("" at the end of input); at a terminal with line editing (arrow keys, history)."""
        if stdin is sys.stdin and stdin.isatty() and self.session.out is sys.stdout:
            with contextlib.suppress(ImportError):  # only where the platform has it, and only at a terminal
                import readline  # noqa: F401 (importing it gives input() line editing)
            try:
                return input(">> ") + "\n"
            except EOFError:
                return ""
        self.session.out.write(">> ")
        self.session.out.flush()
        return stdin.readline()

    def run(self, stdin: TextIO) -> Path | None:
        out = self.session.out
        out.write(f"MovieGPT interactive: {help_line(self.session.config)}\n")
        while True:
            try:
                line = self.read_line(stdin)
            except KeyboardInterrupt:  # Ctrl-C at the prompt leaves, with exit code 130 (docs/errors.md)
                out.write("\n")
                self.say_saved()
                raise Interrupted from None
            if not line or line.strip() in ("quit", "exit"):
                out.write("\n" if not line else "")
                break
            try:
                self.command(line.rstrip("\n"))
            except UserError as exc:
                out.write(f"error: {exc}\n")
            except KeyboardInterrupt:  # Ctrl-C during a generation stops that generation only (what came is kept)
                out.write("\n(generation stopped)\n")
        self.say_saved()
        return self.path

    def say_saved(self) -> None:
        if self.path:
            self.session.out.write(f"session saved to {self.path}\n")


def repl(
    session: Session,
    outputs_dir: str | Path,
    stdin: TextIO | None = None,
    poster: Callable[[str, GenerationConfig], object] | None = None,
) -> Path | None:
    return Repl(session, outputs_dir, poster).run(stdin or sys.stdin)
