"""Choosing a tokenizer: what the flags ask for (char, word or bpe), training it on text, restoring a saved one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from moviegpt.errors import UserError
from moviegpt.tokenizer.base import Tokenizer
from moviegpt.tokenizer.bpe import BpeTokenizer
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.tokenizer.word import WordTokenizer

KINDS = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BpeTokenizer}


@dataclass(frozen=True)
class TokenizerSpec:
    """--tokenizer, --vocab_size (bpe) and --min_freq (word)."""

    kind: str = "char"
    vocab_size: int = 2048
    min_freq: int = 2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UserError(f"--tokenizer must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "bpe" and self.vocab_size < 257:
            raise UserError(f"--vocab_size must be at least 257 for bpe (256 bytes + merges), got {self.vocab_size}")

    def cache_key(self) -> dict:
        """What the token cache depends on (the char tokenizer has no settings)."""
        return {"kind": self.kind} if self.kind == "char" else asdict(self)


def train_tokenizer(spec: TokenizerSpec, chunks: Iterable[str]) -> Tokenizer:
    """A word or BPE tokenizer learned from text chunks (the char vocabulary is collected by the token cache)."""
    if spec.kind == "word":
        return WordTokenizer.train(chunks, spec.min_freq)
    if spec.kind == "bpe":
        return BpeTokenizer.train(chunks, spec.vocab_size)
    return CharTokenizer(ch for chunk in chunks for ch in set(chunk))


def tokenizer_from_dict(data: dict) -> Tokenizer:
    """The tokenizer saved in a checkpoint or token cache (plain data)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in KINDS:
        raise UserError(f"checkpoint holds an unknown kind of tokenizer: {kind!r}")
    return KINDS[kind].from_dict(data)
