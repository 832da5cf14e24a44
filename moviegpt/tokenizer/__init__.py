"""Tokenizers: characters (the default), words, or byte-level BPE; chosen by a TokenizerSpec, saved as plain data."""

from moviegpt.tokenizer.base import Tokenizer
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.tokenizer.factory import (
    TokenizerSpec,
    tokenizer_from_dict,
    train_tokenizer,
)

__all__ = ["Tokenizer", "CharTokenizer", "TokenizerSpec", "tokenizer_from_dict", "train_tokenizer"]
