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
from moviegpt.tokenizer import Tokenizer

SETTABLE = {
    "temperature": float,
    "top_k": int,
    "top_p": float,
    "max_new_tokens": int,
    "repetition_penalty": float,
    "num_samples": int,
    "num_beams": int,
    "decode": str,
}
HELP = (
    "type a prompt, or :title <name>, :set <setting> <value> ("
    + ", ".join(SETTABLE)
    + "), :settings, :poster (the last movie as a poster), quit / exit / Ctrl-D; "
    "Ctrl-C stops a generation"
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
        texts = generate(self.model, self.tokenizer, prompt, self.config, streamer)
        streamer.finish(texts)
        if len(texts) == 1:
            return prompt + texts[0]
        return "\n".join(streamer.header(i) + prompt + t for i, t in enumerate(texts))


def parse_setting(line: str, config: GenerationConfig) -> GenerationConfig:
    """`:set name value` -> a new, checked config (`decode` sets the strategy, as the flag does)."""
    parts = line.split(maxsplit=2)
    if len(parts) != 3 or parts[1] not in SETTABLE:
        raise UserError(f"usage: :set <{'|'.join(SETTABLE)}> <value>")
    name, text = parts[1], parts[2].strip()
    if name == "top_k" and text.lower() in ("none", "off"):
        return dataclasses.replace(config, top_k=None)
    try:
        value = SETTABLE[name](text)
    except ValueError:
        raise UserError(f"{name} takes a {SETTABLE[name].__name__}, got {text!r}") from None
    return dataclasses.replace(config, **{"strategy" if name == "decode" else name: value})


def describe(config: GenerationConfig) -> str:
    """The settings as `:set` names them."""
    values = {name: getattr(config, "strategy" if name == "decode" else name) for name in SETTABLE}
    return ", ".join(f"{name} {value}" for name, value in values.items())


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
            session.out.write(f"{name} = {getattr(session.config, 'strategy' if name == 'decode' else name)}\n")
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
        out.write(f"MovieGPT interactive: {HELP}\n")
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
