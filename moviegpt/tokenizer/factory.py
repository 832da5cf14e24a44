"""Choosing a tokenizer: what the flags ask for (char, word or bpe), training it on text, restoring a saved one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from moviegpt.errors import UserError
from moviegpt.settings import FIXED, at_least, setting, validate
from moviegpt.tokenizer.base import Tokenizer
from moviegpt.tokenizer.bpe import BpeTokenizer
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.tokenizer.word import WordTokenizer

KINDS = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BpeTokenizer}


@dataclass(frozen=True)
class TokenizerSpec:
    """Which tokenizer to build from the training text, and its settings."""

    tokenizer: str = setting(
        "char",
        "char (one token per character), word (words and punctuation, rare ones <unk>) or bpe (byte-level)",
        choices=tuple(KINDS),
        resume=FIXED,
    )
    vocab_size: int = setting(2048, "--tokenizer bpe: vocabulary size", check=at_least(257), resume=FIXED)
    min_freq: int = setting(2, "--tokenizer word: words seen fewer times become <unk>", check=at_least(1), resume=FIXED)

    def __post_init__(self) -> None:
        validate(self)

    def cache_key(self) -> dict:
        """What the token cache depends on (the char tokenizer has no settings)."""
        if self.tokenizer == "char":
            return {"kind": "char"}
        return {"kind": self.tokenizer, "vocab_size": self.vocab_size, "min_freq": self.min_freq}


def train_tokenizer(spec: TokenizerSpec, chunks: Iterable[str]) -> Tokenizer:
    """A word or BPE tokenizer learned from text chunks (the char vocabulary is collected by the token cache)."""
    if spec.tokenizer == "word":
        return WordTokenizer.train(chunks, spec.min_freq)
    if spec.tokenizer == "bpe":
        return BpeTokenizer.train(chunks, spec.vocab_size)
    return CharTokenizer(ch for chunk in chunks for ch in set(chunk))


def tokenizer_from_dict(data: dict) -> Tokenizer:
    """The tokenizer saved in a checkpoint or token cache (plain data)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in KINDS:
        raise UserError(f"checkpoint holds an unknown kind of tokenizer: {kind!r}")
    return KINDS[kind].from_dict(data)
