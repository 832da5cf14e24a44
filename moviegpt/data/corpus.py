"""A corpus ready to train on: its files, tokens, tokenizer, train/validation splits and record format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from moviegpt.data.dataset import TextDataset, has_records
from moviegpt.data.sources import resolve_sources
from moviegpt.data.token_cache import EncodedCorpus, encode_corpus
from moviegpt.records import RecordFormat
from moviegpt.tokenizer import Tokenizer, TokenizerSpec


@dataclass
class DataConfig:
    sources: list[str]  # files, folders of .txt, globs or http(s) URLs
    cache_dir: Path  # token caches go to cache_dir/tokens, downloads to cache_dir/downloads
    tokenizer: TokenizerSpec = field(default_factory=TokenizerSpec)
    fixed_tokenizer: Tokenizer | None = None  # encode with this one (fine-tuning a checkpoint) instead


@dataclass
class Corpus:
    files: list[Path]
    encoded: EncodedCorpus
    dataset: TextDataset
    record_format: RecordFormat | None  # set when the text is in the movie-record format

    @property
    def tokenizer(self) -> Tokenizer:
        return self.encoded.tokenizer

    def chars_per_token(self, sample: int = 200_000) -> float:
        """Characters per token, measured on the start of the validation split (1 for the char tokenizer)."""
        if self.tokenizer.kind == "char":
            return 1.0
        ids = self.dataset.splits["val"][:sample]
        return len(self.tokenizer.decode(ids)) / max(len(ids), 1)

    def describe(self) -> str:
        source = str(self.files[0]) if len(self.files) == 1 else f"{len(self.files)} files"
        unit = "characters" if self.tokenizer.kind == "char" else f"{self.tokenizer.kind} tokens"
        return (
            f"{source} ({len(self.encoded.tokens):,} {unit}, vocabulary {self.tokenizer.vocab_size:,}, "
            f"token cache {'reused' if self.encoded.reused else 'built'}: {self.encoded.cache_path})"
        )


def load_corpus(config: DataConfig) -> Corpus:
    """Resolve the sources (downloading URLs once), encode them through the token cache, split them."""
    files = resolve_sources(config.sources, config.cache_dir / "downloads")
    encoded = encode_corpus(files, config.cache_dir / "tokens", config.tokenizer, config.fixed_tokenizer)
    dataset = TextDataset.from_tokens(encoded.tokens, encoded.tokenizer)
    record_format = RecordFormat() if has_records(encoded.tokens, encoded.tokenizer) else None
    return Corpus(files, encoded, dataset, record_format)
