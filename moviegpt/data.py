"""Training text: reading and checking it, encoding it compactly, splitting it and sampling batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .errors import UserError
from .tokenizer import CharTokenizer

VAL_FRACTION = 0.1


def read_text(path: str | Path) -> str:
    """Read a UTF-8 training file, refusing missing, empty, binary and non-UTF-8 files."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"training data not found: {path}")
    if path.is_dir():
        raise UserError(f"training data is a directory, not a text file: {path}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read training data {path}: {exc.strerror}") from None
    if b"\x00" in raw:
        raise UserError(f"training data looks like a binary file (it contains NUL bytes): {path}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"training data is not UTF-8 text: {path} (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.strip():
        raise UserError(f"training data is empty: {path}")
    return text


class TextDataset:
    """Token ids of a corpus held as compact numpy arrays: first 90% train, last 10% validation."""

    def __init__(self, train: np.ndarray, val: np.ndarray):
        self.splits = {"train": train, "val": val}

    @classmethod
    def from_text(cls, text: str, tokenizer: CharTokenizer) -> TextDataset:
        ids = tokenizer.encode_array(text)
        n_train = int(len(ids) * (1 - VAL_FRACTION))
        return cls(ids[:n_train], ids[n_train:])

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
        self, split: str, batch_size: int, context_length: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Random windows of inputs x and next-token targets y, as int64 CPU tensors."""
        ids = self.splits[split]
        starts = torch.randint(len(ids) - context_length, (batch_size,), generator=generator).numpy()
        windows = ids[starts[:, None] + np.arange(context_length + 1)].astype(np.int64)
        batch = torch.from_numpy(windows)
        return batch[:, :-1], batch[:, 1:]
