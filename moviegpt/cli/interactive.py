"""Generating for a person at a terminal: a Session (model, settings, printing) and the `>> ` loop (--interactive)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from moviegpt.errors import UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.generate import generate
from moviegpt.generation.outputs import save_output, write_text
from moviegpt.generation.streamers import TerminalStreamer
from moviegpt.models import LanguageModel
from moviegpt.records import RecordFormat
from moviegpt.settings import Setting, declared
from moviegpt.tokenizer import Tokenizer


def settable(config: GenerationConfig) -> dict[str, Setting]:
    """What `:set` can change: the generation settings declared live in the REPL."""
    return {s.name: s for s in declared(type(config)) if "repl" in s.live}


def help_line(config: GenerationConfig) -> str:
    return (
        f"type a prompt, or :title <name>, :set <setting> <value> ({', '.join(settable(config))}), :settings, "
        ":poster (the last movie as a poster), quit / exit / Ctrl-D; Ctrl-C stops a generation"
    )


@dataclass
class Session:
    """A loaded model and the settings to generate with."""

    model: LanguageModel
    tokenizer: Tokenizer
    config: GenerationConfig
    record_format: RecordFormat | None
    typewriter: bool = True
    out: TextIO = field(default_factory=lambda: sys.stdout)

    def title_prompt(self, title: str) -> str:
        return (self.record_format or RecordFormat()).title_prompt(title)

    def default_prompt(self) -> str:
        """With no prompt and no title: the start of a record, so the model invents the title too."""
        return self.record_format.prefix if self.record_format else ""

    def run(self, prompt: str) -> str:
        """Generate, print and return the samples as one text (prompt included)."""
        self.tokenizer.encode(prompt)  # unknown characters: an error before anything is printed
        streamer = TerminalStreamer(prompt, self.config.num_samples, self.typewriter, self.out)
        unconditional = (self.record_format or RecordFormat()).without_title(prompt)
        texts = generate(self.model, self.tokenizer, prompt, self.config, streamer, unconditional)
        streamer.finish(texts)
        if len(texts) == 1:
            return prompt + texts[0]
        return "\n".join(streamer.header(i) + prompt + t for i, t in enumerate(texts))


def parse_setting(line: str, config: GenerationConfig) -> GenerationConfig:
    """`:set name value` -> a new config, checked as the flag of that name is."""
    parts, names = line.split(maxsplit=2), settable(config)
    if len(parts) != 3 or parts[1] not in names:
        raise UserError(f"usage: :set <{'|'.join(names)}> <value>")
    name, text = parts[1], parts[2].strip()
    try:
        return dataclasses.replace(config, **{name: names[name].parse(text)})
    except ValueError as exc:
        raise UserError(f"{name} {exc}") from None


def describe(config: GenerationConfig) -> str:
    """The settings as `:set` names them."""
    return ", ".join(f"{name} {getattr(config, name)}" for name in settable(config))


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
        if word == ":settings":
            session.out.write(describe(session.config) + "\n")
        elif word == ":set":
            session.config = parse_setting(line, session.config)
            name = line.split()[1]
            session.out.write(f"{name} = {getattr(session.config, name)}\n")
        elif word == ":poster":
            if not self.log or self.poster is None:
                raise UserError("nothing generated yet: generate a movie first, then :poster")
            self.poster(self.log[-1], session.config)
        else:
            prompt = session.title_prompt(line[len(":title") :].strip()) if word == ":title" else line
            self.log.append(session.run(prompt or session.default_prompt()))
            self.path = self.path or save_output("", self.outputs_dir, stem="session")
            write_text(self.path, "\n\n".join(self.log) + "\n")

    def run(self, stdin: TextIO) -> Path | None:
        out = self.session.out
        out.write(f"MovieGPT interactive: {help_line(self.session.config)}\n")
        while True:
            out.write(">> ")
            out.flush()
            try:
                line = stdin.readline()
            except KeyboardInterrupt:  # Ctrl-C at the prompt leaves
                out.write("\n")
                break
            if not line or line.strip() in ("quit", "exit"):
                out.write("\n" if not line else "")
                break
            try:
                self.command(line.rstrip("\n"))
            except UserError as exc:
                out.write(f"error: {exc}\n")
            except KeyboardInterrupt:  # Ctrl-C during a generation stops that generation only
                out.write("\n(generation stopped)\n")
        if self.path:
            out.write(f"session saved to {self.path}\n")
        return self.path


def repl(
    session: Session,
    outputs_dir: str | Path,
    stdin: TextIO | None = None,
    poster: Callable[[str, GenerationConfig], object] | None = None,
) -> Path | None:
    return Repl(session, outputs_dir, poster).run(stdin or sys.stdin)
