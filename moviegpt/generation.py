"""From a prompt to finished text: movie titles, stop strings, streaming without partial stop strings, saving."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .decoding import DecodingConfig, decode
from .errors import UserError
from .files import atomic_write
from .model import GPT
from .tokenizer import Tokenizer

OnText = Callable[[int, str], None]  # (row, text that is now final)
OnDone = Callable[[int], None]  # (row) reached a stop string


class Stopper:
    """Finds stop strings in generated text, also across token boundaries."""

    def __init__(self, tokenizer: Tokenizer, stop_strings: list[str]):
        self.tokenizer = tokenizer
        self.stops = [s for s in stop_strings if s]
        # A token holds at least one byte and a character at most four.
        self.window = 4 * (max((len(s) for s in self.stops), default=0) + 1)

    def is_done(self, ids: list[int]) -> bool:
        if not self.stops:
            return False
        tail = self.tokenizer.decode(ids[-self.window:])
        return any(stop in tail for stop in self.stops)

    def cut(self, text: str) -> tuple[str, bool]:
        """Text before the first stop string, and whether there was one."""
        hits = [i for i in (text.find(stop) for stop in self.stops) if i >= 0]
        return (text[: min(hits)], True) if hits else (text, False)

    def safe_length(self, text: str) -> int:
        """How much of text can be shown: all but a tail that may still grow into a stop string."""
        for keep in range(min(len(text), self.window), 0, -1):
            if any(stop.startswith(text[-keep:]) for stop in self.stops):
                return len(text) - keep
        return len(text)


class RowText:
    """The text of one generated row, released piece by piece once no stop string can start in it."""

    def __init__(self, tokenizer: Tokenizer, stopper: Stopper):
        self.tokenizer, self.stopper = tokenizer, stopper
        self.text, self.shown, self.stopped = "", 0, False
        self.bytes = codecs.getincrementaldecoder("utf-8")(errors="replace")  # waits for whole characters

    def push(self, token: int) -> str:
        if self.stopped:
            return ""
        self.text += self.bytes.decode(self.tokenizer.token_bytes(token))
        visible, self.stopped = self.stopper.cut(self.text)
        if self.stopped:
            self.text = visible
        return self._release(len(self.text) if self.stopped else self.stopper.safe_length(self.text))

    def finish(self) -> str:
        if not self.stopped:
            self.text += self.bytes.decode(b"", final=True)
        self.text = self.stopper.cut(self.text)[0]
        return self._release(len(self.text))

    def _release(self, end: int) -> str:
        piece = self.text[self.shown:end]
        self.shown = max(self.shown, end)
        return piece


def prompt_ids(tokenizer: Tokenizer, prompt: str) -> list[int]:
    """Encode the prompt (unknown characters are an error); an empty prompt starts after a newline."""
    if prompt:
        return tokenizer.encode(prompt)
    return tokenizer.encode("\n")[-1:] if tokenizer.can_encode("\n") else [0]


def generate(model: GPT, tokenizer: Tokenizer, prompt: str, config: DecodingConfig, stop_strings: list[str],
             on_text: OnText | None = None, on_done: OnDone | None = None) -> list[str]:
    """Generate config.num_samples continuations of prompt, each cut before its first stop string.

    on_text(row, piece) receives each row's text as soon as it is final (never part of a stop string);
    on_done(row) is called when a row stops at a stop string, while the others may still be going.
    """
    ids = prompt_ids(tokenizer, prompt)
    stopper = Stopper(tokenizer, stop_strings)
    rows = [RowText(tokenizer, stopper) for _ in range(config.num_samples)]
    emit = on_text or (lambda row, piece: None)

    def on_token(row: int, token: int) -> None:
        piece = rows[row].push(token)
        if piece:
            emit(row, piece)
        if rows[row].stopped and on_done:
            on_done(row)

    decode(model, ids, config, stopper.is_done, on_token)
    for row, text in enumerate(rows):
        rest = text.finish()
        if rest:
            emit(row, rest)
    return [row.text for row in rows]


def save_output(text: str, outputs_dir: str | Path, stem: str = "output") -> Path:
    """Write text as UTF-8 to outputs_dir/<stem>_<timestamp>.txt, never overwriting an existing file."""
    outputs_dir = Path(outputs_dir)
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    path = outputs_dir / f"{stem}_{stamp}.txt"
    counter = 1
    while path.exists():
        path = outputs_dir / f"{stem}_{stamp}_{counter}.txt"
        counter += 1
    write_text(path, text)
    return path


def write_text(path: Path, text: str) -> None:
    try:
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as exc:
        raise UserError(f"cannot write output to {path.parent}: {exc.strerror or exc}") from None
