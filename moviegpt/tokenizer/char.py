"""The default character-level tokenizer: one id per character, sorted."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from moviegpt.errors import UserError
from moviegpt.tokenizer.base import Tokenizer


class CharTokenizer(Tokenizer):
    """Maps each character of a fixed vocabulary to an integer id and back."""

    kind = "char"

    def __init__(self, chars: Iterable[str]):
        self.chars: list[str] = sorted(set(chars))
        if not self.chars:
            raise UserError("cannot build a tokenizer from empty text")
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}
        # Code points in id order, for vectorised encoding of large texts.
        self._codepoints = np.array([ord(c) for c in self.chars], dtype=np.uint32)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def unknown_chars(self, text: str) -> list[str]:
        return sorted(set(text) - self.stoi.keys())

    def encode(self, text: str) -> list[int]:
        unknown = self.unknown_chars(text)
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise UserError(f"the model has never seen these characters: {shown}{more}")
        return [self.stoi[c] for c in text]

    def encode_array(self, text: str) -> np.ndarray:
        """Encode a large text into a compact numpy array (uint8/16/32), vectorised."""
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids = np.searchsorted(self._codepoints, points)
        ids = np.minimum(ids, self.vocab_size - 1)
        if not np.array_equal(self._codepoints[ids], points):
            self.encode(text)  # raises with the unknown characters named
        return ids.astype(self.token_dtype)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def token_bytes(self, token: int) -> bytes:
        return self.chars[token].encode("utf-8")

    def encode_known(self, text: str) -> tuple[np.ndarray, int]:
        """Characters the model never saw are left out (and counted)."""
        known = "".join(ch for ch in text if ch in self.stoi)
        return self.encode_array(known), len(text) - len(known)

    def can_encode(self, text: str) -> bool:
        return not self.unknown_chars(text)

    def to_dict(self) -> dict:
        """Plain data for the checkpoint (loadable with weights_only=True)."""
        return {"kind": self.kind, "chars": list(self.chars)}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        if data.get("kind") != cls.kind or not isinstance(data.get("chars"), list):
            raise UserError("checkpoint holds no character tokenizer")
        return cls(data["chars"])
