"""Streamers: where generate() sends text as it is made. TerminalStreamer prints samples in order, once each."""

from __future__ import annotations

from typing import Protocol, TextIO


class Streamer(Protocol):
    def put(self, row: int, text: str) -> None:
        """More final text of sample `row`."""

    def end(self, row: int) -> None:
        """Sample `row` reached a stop string (rows that reach max_new_tokens get no call)."""


def sample_header(row: int, samples: int) -> str:
    """The line above each of several samples."""
    return f"--- sample {row + 1} ---\n" if samples > 1 else ""


class TerminalStreamer:
    """Prints samples in order, each once: the first streams as it is made (typewriter), each later one is printed
    whole as soon as it and every sample before it are finished; finish() prints the rest."""

    def __init__(self, prompt: str, num_samples: int, typewriter: bool, out: TextIO):
        self.prompt, self.typewriter, self.out = prompt, typewriter, out
        self.texts = [""] * num_samples
        self.done: set[int] = set()
        self.next_row = 0  # the first sample not printed yet
        if typewriter:
            self.write(self.header(0) + prompt)

    def header(self, row: int) -> str:
        return sample_header(row, len(self.texts))

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def put(self, row: int, text: str) -> None:
        self.texts[row] += text
        if self.typewriter and row == 0:
            self.write(text)

    def end(self, row: int) -> None:
        self.done.add(row)
        if self.typewriter:
            self.print_ready()

    def print_ready(self) -> None:
        """Print, in order, every sample that is finished and has all earlier ones printed."""
        while self.next_row < len(self.texts) and self.next_row in self.done:
            row = self.next_row
            if row == 0 and self.typewriter:
                self.write("\n")  # the first sample streamed: end its line
            else:
                self.write(self.header(row) + self.prompt + self.texts[row] + "\n")
            self.next_row += 1

    def finish(self, texts: list[str]) -> None:
        """Print every sample not printed yet (all of them without the typewriter)."""
        self.texts = list(texts)
        self.done.update(range(len(texts)))
        self.print_ready()
