"""Token ids of a corpus, split into train and validation, and random training windows from them."""

from __future__ import annotations

import numpy as np
import torch

from moviegpt.errors import UserError
from moviegpt.records import RECORD_END
from moviegpt.tokenizer.base import Tokenizer

VAL_FRACTION = 0.1


def record_end_ids(tokenizer: Tokenizer, dtype: np.dtype) -> np.ndarray | None:
    """The token ids of the END_OF_MOVIE line, or None when the tokenizer cannot encode it."""
    if not tokenizer.can_encode(RECORD_END):
        return None
    return np.array(tokenizer.encode(RECORD_END), dtype=dtype)


def find_marker(tokens: np.ndarray, marker: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """End positions (one past the marker) of every occurrence of marker inside tokens[lo:hi]."""
    window = np.asarray(tokens[lo:hi])
    n = len(window) - len(marker) + 1
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    hits = np.flatnonzero(window[:n] == marker[0])
    for offset in range(1, len(marker)):
        hits = hits[window[hits + offset] == marker[offset]]
    return lo + hits + len(marker)


def split_point(tokens: np.ndarray, tokenizer: Tokenizer, val_fraction: float = VAL_FRACTION) -> int:
    """First (1 - val_fraction) of the tokens for training; moved to the nearest record end in movie-format text."""
    target = int(len(tokens) * (1 - val_fraction))
    marker = record_end_ids(tokenizer, tokens.dtype)
    if marker is None:
        return target
    radius = 2**16
    while True:
        lo, hi = max(0, target - radius), min(len(tokens), target + radius)
        ends = find_marker(tokens, marker, lo, hi)
        ends = ends[(ends > 0) & (ends < len(tokens))]  # both splits keep something
        if len(ends):
            return int(ends[np.argmin(np.abs(ends - target))])
        if lo == 0 and hi == len(tokens):
            return target
        radius *= 4


def has_records(tokens: np.ndarray, tokenizer: Tokenizer, scan: int = 2**20) -> bool:
    """Whether the text is in the movie-record format (an END_OF_MOVIE line near its start)."""
    marker = record_end_ids(tokenizer, tokens.dtype)
    return marker is not None and len(find_marker(tokens, marker, 0, min(len(tokens), scan))) > 0


class TextDataset:
    """Train and validation token arrays (numpy arrays or memmaps, never Python lists)."""

    def __init__(self, train: np.ndarray, val: np.ndarray):
        self.splits = {"train": train, "val": val}

    @classmethod
    def from_tokens(cls, tokens: np.ndarray, tokenizer: Tokenizer) -> TextDataset:
        n_train = split_point(tokens, tokenizer)
        return cls(tokens[:n_train], tokens[n_train:])

    def check_fits(self, context_length: int) -> None:
        """Refuse a corpus whose splits cannot hold one window of context_length + 1 tokens."""
        for name, ids in self.splits.items():
            if len(ids) <= context_length:
                raise UserError(
                    f"training data too short: the {name} split has {len(ids)} characters, "
                    f"fewer than --context_length + 1 = {context_length + 1}"
                )

    def steps_per_epoch(self, batch_size: int, context_length: int) -> int:
        """One epoch = len(train) // (batch_size * context_length) random windows, at least 1 step."""
        return max(1, len(self.splits["train"]) // (batch_size * context_length))

    def get_batch(
        self,
        split: str,
        batch_size: int,
        context_length: int,
        generator: torch.Generator,
        shard: tuple[int, int] = (0, 1),
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Random windows of inputs x and next-token targets y, as int64 CPU tensors.

        shard = (rank, world_size): every rank draws the same world_size * batch_size windows from its generator
        and keeps its own slice, so a data-parallel run sees exactly the batches of one process with the global
        batch size.
        """
        rank, world_size = shard
        ids = self.splits[split]
        starts = torch.randint(len(ids) - context_length, (batch_size * world_size,), generator=generator).numpy()
        starts = starts[rank * batch_size : (rank + 1) * batch_size]
        windows = np.stack([ids[s : s + context_length + 1] for s in starts]).astype(np.int64)
        batch = torch.from_numpy(windows)
        return batch[:, :-1].contiguous(), batch[:, 1:].contiguous()
