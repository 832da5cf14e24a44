"""The tokenizer interface that data, checkpoints, training, generation and evaluation rely on."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Tokenizer:
    """What data, training, checkpoints, generation and evaluation need from a tokenizer.

    Subclasses give vocab_size, encode, encode_array, token_bytes, to_dict/from_dict; text is always rebuilt from
    the bytes of the tokens, so a token that ends inside a multi-byte character decodes with the next one.
    """

    kind = ""

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    @property
    def token_dtype(self) -> type[np.unsignedinteger]:
        """The smallest unsigned integer type that holds every id."""
        if self.vocab_size <= 2**8:
            return np.uint8
        if self.vocab_size <= 2**16:
            return np.uint16
        return np.uint32

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def encode_array(self, text: str) -> np.ndarray:
        return np.array(self.encode(text), dtype=self.token_dtype)

    def encode_known(self, text: str) -> tuple[np.ndarray, int]:
        """Ids for evaluation, and how many characters or words the tokenizer does not know."""
        return self.encode_array(text), 0

    def can_encode(self, text: str) -> bool:
        """Whether text encodes without loss (no unknown characters or words)."""
        return True

    def token_bytes(self, token: int) -> bytes:
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        return b"".join(self.token_bytes(int(i)) for i in ids).decode("utf-8", errors="replace")

    def to_dict(self) -> dict:
        raise NotImplementedError
