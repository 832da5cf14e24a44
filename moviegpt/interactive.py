"""Generating for a person at a terminal: one-shot runs, streamed samples, and the `>> ` loop (--interactive)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .decoding import DecodingConfig
from .errors import UserError
from .data import RecordFormat
from .generation import generate, save_output, write_text
from .model import GPT
from .tokenizer import Tokenizer

SETTABLE = {"temperature": float, "top_k": int, "top_p": float, "max_new_tokens": int,
            "repetition_penalty": float, "num_samples": int, "num_beams": int, "decode": str}
HELP = ("type a prompt, or :title <name>, :set <setting> <value> (" + ", ".join(SETTABLE) +
        "), :settings, :poster (the last movie as a poster), quit / exit / Ctrl-D")


class SamplePrinter:
    """Prints samples once each: the first streams as it is made (typewriter), the others as they finish
    (those that finish while the first is still streaming wait until it is done)."""

    def __init__(self, prompt: str, num_samples: int, typewriter: bool, out: TextIO):
        self.prompt, self.typewriter, self.out = prompt, typewriter, out
        self.numbered = num_samples > 1
        self.texts = [""] * num_samples
        self.printed: set[int] = set()
        self.queued: list[int] = []
        if typewriter:
            self.write(self.header(0) + prompt)

    def header(self, row: int) -> str:
        return f"--- sample {row + 1} ---\n" if self.numbered else ""

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def print_row(self, row: int) -> None:
        if row == 0 and self.typewriter:
            self.write("\n")  # the first sample streamed: end its line
        else:
            self.write(self.header(row) + self.prompt + self.texts[row] + "\n")
        self.printed.add(row)

    def on_text(self, row: int, piece: str) -> None:
        self.texts[row] += piece
        if self.typewriter and row == 0:
            self.write(piece)

    def on_done(self, row: int) -> None:
        if not self.typewriter:
            return
        self.queued.append(row)
        if 0 in self.queued or 0 in self.printed:
            for queued in sorted(self.queued, key=lambda r: r != 0):  # the first sample's line ends first
                self.print_row(queued)
            self.queued = []

    def finish(self, texts: list[str]) -> None:
        """Print every sample not printed yet (all of them without the typewriter)."""
        self.texts = texts
        order = sorted(self.queued, key=lambda r: r != 0) + list(range(len(texts)))
        for row in dict.fromkeys(order):
            if row not in self.printed:
                self.print_row(row)


@dataclass
class Session:
    """A loaded model and the settings to generate with; remembers what it generated."""

    model: GPT
    tokenizer: Tokenizer
    config: DecodingConfig
    stop_strings: list[str]
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
        printer = SamplePrinter(prompt, self.config.num_samples, self.typewriter, self.out)
        texts = generate(self.model, self.tokenizer, prompt, self.config, self.stop_strings, printer.on_text,
                         printer.on_done)
        printer.finish(texts)
        if len(texts) == 1:
            return prompt + texts[0]
        return "\n".join(printer.header(i) + prompt + t for i, t in enumerate(texts))


def parse_setting(line: str, config: DecodingConfig) -> DecodingConfig:
    """`:set name value` -> a new, checked config."""
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
    return dataclasses.replace(config, **{name: value})


def repl(session: Session, outputs_dir: Path, stdin: TextIO | None = None,
         poster: Callable[[str], object] | None = None) -> Path | None:
    """The `>> ` loop; every generation is appended to one session file under outputs_dir; `:poster` draws
    the last generated movie."""
    stdin = stdin or sys.stdin
    out, log, path, line = session.out, [], None, ""
    out.write(f"MovieGPT interactive: {HELP}\n")
    while True:
        out.write(">> ")
        out.flush()
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            break
        if not line or line.strip() in ("quit", "exit"):
            break
        line = line.rstrip("\n")
        try:
            if line.startswith(":set"):
                session.config = parse_setting(line, session.config)
                out.write(f"{line.split()[1]} = {getattr(session.config, line.split()[1])}\n")
                continue
            if line.strip() == ":settings":
                out.write(f"{session.config}\n")
                continue
            if line.strip() == ":poster":
                if not log or poster is None:
                    raise UserError("nothing generated yet: generate a movie first, then :poster")
                poster(log[-1])
                continue
            prompt = session.title_prompt(line[len(":title"):].strip()) if line.startswith(":title") else line
            log.append(session.run(prompt or session.default_prompt()))
        except UserError as exc:
            out.write(f"error: {exc}\n")
            continue
        except KeyboardInterrupt:
            out.write("\n")
            break
        path = path or save_output("", outputs_dir, stem="session")
        write_text(path, "\n\n".join(log) + "\n")
    out.write("\n" if not line else "")
    if path:
        out.write(f"session saved to {path}\n")
    return path
