"""Stopping criteria: stop strings found in generated text, also across token boundaries, and never half shown."""

from __future__ import annotations

import codecs

from moviegpt.tokenizer import Tokenizer


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
        tail = self.tokenizer.decode(ids[-self.window :])
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
        piece = self.text[self.shown : end]
        self.shown = max(self.shown, end)
        return piece
