"""Byte-level BPE (GPT-2 style) trained on the training text with Hugging Face `tokenizers`: any text round-trips."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from moviegpt.errors import UserError
from moviegpt.tokenizer.base import Tokenizer


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in character for each byte, as the ByteLevel pre-tokenizer writes tokens."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping, extra = {b: chr(b) for b in printable}, 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


UNICODE_TO_BYTE = {ch: b for b, ch in byte_to_unicode().items()}


class BpeTokenizer(Tokenizer):
    kind = "bpe"

    def __init__(self, backend):
        self.backend = backend  # a tokenizers.Tokenizer
        vocab = backend.get_vocab()
        self._bytes = [b""] * len(vocab)
        for token, index in vocab.items():
            self._bytes[index] = bytes(UNICODE_TO_BYTE[ch] for ch in token)

    @classmethod
    def train(cls, chunks: Iterable[str], vocab_size: int = 2048) -> BpeTokenizer:
        from tokenizers import Tokenizer as Backend
        from tokenizers import decoders, models, pre_tokenizers, trainers

        backend = Backend(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
        backend.train_from_iterator(chunks, trainer=trainer)
        return cls(backend)

    @property
    def vocab_size(self) -> int:
        return len(self._bytes)

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text).ids

    def encode_array(self, text: str) -> np.ndarray:
        """Line by line in one batch (the library encodes a batch on all cores); a newline always ends a
        pre-token, so this equals encoding the whole text at once."""
        lines = text.splitlines(keepends=True)
        ids = [i for encoding in self.backend.encode_batch(lines) for i in encoding.ids]
        return np.array(ids, dtype=self.token_dtype)

    def token_bytes(self, token: int) -> bytes:
        return self._bytes[token]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "json": self.backend.to_str()}

    @classmethod
    def from_dict(cls, data: dict) -> BpeTokenizer:
        from tokenizers import Tokenizer as Backend

        try:
            return cls(Backend.from_str(data["json"]))
        except Exception:  # the library raises its own exception types
            raise UserError("checkpoint holds a damaged BPE tokenizer") from None
