"""Word-level tokenizer (as Nano LM had): words, single punctuation marks, newlines and spaces; rare words <unk>."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from moviegpt.errors import UserError
from moviegpt.tokenizer.base import Tokenizer

UNK = "<unk>"
# A newline is always its own token, so text split after any newline encodes exactly as the whole text.
TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]|\n|[^\S\n]+")


class WordTokenizer(Tokenizer):
    """Id 0 is <unk> (words seen fewer than min_freq times in training); the rest by descending frequency."""

    kind = "word"

    def __init__(self, words: Iterable[str]):
        self.words = [UNK] + [w for w in words if w != UNK]
        self.stoi = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def train(cls, chunks: Iterable[str], min_freq: int = 2) -> WordTokenizer:
        counts: Counter[str] = Counter()
        for chunk in chunks:
            counts.update(TOKEN_PATTERN.findall(chunk))
        kept = [w for w, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if n >= min_freq]
        if not kept:
            raise UserError(f"no word occurs --min_freq {min_freq} times in the training data")
        return cls(kept)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(piece, 0) for piece in TOKEN_PATTERN.findall(text)]

    def encode_known(self, text: str) -> tuple[np.ndarray, int]:
        """Ids for evaluation; unknown words become <unk> and are counted."""
        ids = self.encode_array(text)
        return ids, int((ids == 0).sum())

    def can_encode(self, text: str) -> bool:
        return 0 not in self.encode(text)

    def token_bytes(self, token: int) -> bytes:
        return self.words[token].encode("utf-8")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "words": list(self.words)}

    @classmethod
    def from_dict(cls, data: dict) -> WordTokenizer:
        if not isinstance(data.get("words"), list) or data["words"][:1] != [UNK]:
            raise UserError("checkpoint holds a damaged word tokenizer")
        return cls(data["words"])
