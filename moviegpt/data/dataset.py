"""Token ids of a corpus, split into train and validation, and training windows from them: anywhere, or at the
start of a movie record (so every plot is trained with its title in view), with titles dropped from a share."""

from __future__ import annotations

import numpy as np
import torch

from moviegpt.errors import UserError
from moviegpt.records import RECORD_END, RecordFormat, plot_phrases
from moviegpt.tokenizer.base import Tokenizer

VAL_FRACTION = 0.1
MIXED_AT_RECORDS = 0.75  # --windows mixed: the share of rows that start at a movie (the others show plots ending)


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


class RecordIndex:
    """Where the movie records of a token array start, and where their titles are (the char tokenizer spells the
    template the same everywhere; other tokenizers give the starts only)."""

    def __init__(self, ids: np.ndarray, tokenizer: Tokenizer):
        marker = record_end_ids(tokenizer, ids.dtype)
        ends = find_marker(ids, marker, 0, len(ids)) if marker is not None else np.empty(0, dtype=np.int64)
        self.starts = np.concatenate([[0], ends[ends < len(ids)]]).astype(np.int64)
        self.titles: np.ndarray | None = None  # (records, 2): [first, end) of each title
        fmt = RecordFormat()
        if tokenizer.kind == "char" and tokenizer.can_encode(fmt.prefix + fmt.suffix) and len(ends):
            prefix, suffix = (np.array(tokenizer.encode(t), dtype=ids.dtype) for t in (fmt.prefix, fmt.suffix))
            suffixes = find_marker(ids, suffix, 0, len(ids)) - len(suffix)
            first = self.starts + len(prefix)
            at = np.searchsorted(suffixes, first)
            found = at < len(suffixes)
            end = np.where(found, suffixes[np.minimum(at, len(suffixes) - 1)], first)
            self.titles = np.stack([first, np.maximum(end, first)], axis=1)


class TextDataset:
    """Train and validation token arrays (numpy arrays or memmaps, never Python lists)."""

    def __init__(self, train: np.ndarray, val: np.ndarray, tokenizer: Tokenizer | None = None):
        self.splits = {"train": train, "val": val}
        self.tokenizer = tokenizer  # what record indexes are read with
        self.indexes: dict[str, RecordIndex] = {}

    @classmethod
    def from_tokens(cls, tokens: np.ndarray, tokenizer: Tokenizer) -> TextDataset:
        n_train = split_point(tokens, tokenizer)
        return cls(tokens[:n_train], tokens[n_train:], tokenizer)

    def records(self, split: str) -> RecordIndex:
        """The split's record index, made on first use."""
        if split not in self.indexes:
            self.indexes[split] = RecordIndex(self.splits[split], self.tokenizer)
        return self.indexes[split]

    def check_windows(
        self,
        windows: str,
        title_dropout: float,
        plot_weight: float = 1.0,
        copy_weight: float = 1.0,
        pseudo_titles: float = 0.0,
    ) -> None:
        """Refuse record windows, title dropout, pseudo-titles or plot and copy weights on text they cannot apply to."""
        movies = self.tokenizer is not None and record_end_ids(self.tokenizer, np.int64) is not None
        if windows in ("records", "mixed") and not (movies and len(self.records("train").starts) >= 2):
            raise UserError(f"--windows {windows} needs movie-format text (records that end with END_OF_MOVIE)")
        for name, share in (("--title_dropout", title_dropout), ("--pseudo_titles", pseudo_titles)):
            if share > 0 and (windows == "anywhere" or self.records("train").titles is None):
                raise UserError(f"{name} needs --windows records or mixed, on movie-format text with --tokenizer char")
        for name, weight in (("--plot_weight", plot_weight), ("--copy_weight", copy_weight)):
            if weight != 1 and (self.tokenizer is None or self.records("train").titles is None):
                raise UserError(f"{name} needs movie-format text with --tokenizer char")

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

    def retitled(
        self, ids: np.ndarray, start: int, title: np.ndarray, width: int, pick: float | None
    ) -> np.ndarray | None:
        """The window at a record start with its title left out (pick None) or replaced by the phrase of its plot
        that pick (in [0, 1)) falls on; None where the split ends too soon or the plot has no such phrase."""
        first, end = title
        head, tail = ids[start:first], ids[end : end + width]
        if pick is not None:
            phrases = plot_phrases(self.tokenizer.decode(tail).partition("\n")[2])  # the plot, after the suffix
            if not phrases:
                return None
            head = np.concatenate([head, self.tokenizer.encode_array(phrases[int(pick * len(phrases))])])
        window = np.concatenate([head, tail])[:width]
        return window.astype(ids.dtype) if len(window) == width else None

    def get_batch(
        self,
        split: str,
        batch_size: int,
        context_length: int,
        generator: torch.Generator,
        shard: tuple[int, int] = (0, 1),
        windows: str = "anywhere",
        title_dropout: float = 0.0,
        pseudo_titles: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Random windows of inputs x and next-token targets y, as int64 CPU tensors. windows "records": each row
        starts at a record's first character, the records after it packed behind it; "mixed": three rows in four so,
        the others anywhere (a plot longer than the window ends beyond it: these show plots ending); title_dropout:
        the share of rows starting at a record whose title is left out (`named '' is:`); pseudo_titles: the share
        of the others whose title is replaced by a name or place from its own plot (none: the title stays).

        shard = (rank, world_size): every rank draws the same world_size * batch_size windows from its generator
        and keeps its own slice, so a data-parallel run sees exactly the batches of one process with the global
        batch size.
        """
        rank, world_size = shard
        ids, rows, width = self.splits[split], batch_size * world_size, context_length + 1
        titles = None
        if windows in ("records", "mixed"):
            index = self.records(split)
            fits = max(1, int(np.searchsorted(index.starts, len(ids) - width, side="right")))
            picks = torch.randint(fits, (rows,), generator=generator).numpy()
            starts, titles = index.starts[picks], None if index.titles is None else index.titles[picks]
        if windows != "records":
            anywhere = torch.randint(len(ids) - context_length, (rows,), generator=generator).numpy()
            at_record = torch.rand(rows, generator=generator).numpy() < MIXED_AT_RECORDS if windows == "mixed" else None
            starts = anywhere if at_record is None else np.where(at_record, starts, anywhere)
        drop, pseudo = shares(rows, title_dropout, generator) < 1, shares(rows, pseudo_titles, generator)
        if windows == "mixed":
            drop &= at_record  # a title is dropped (or replaced) where the window starts at its movie
            pseudo = np.where(at_record, pseudo, 1.0)
        made = []
        for row in range(rank * batch_size, (rank + 1) * batch_size):
            window = ids[starts[row] : starts[row] + width]
            if drop[row] or pseudo[row] < 1:
                changed = self.retitled(ids, starts[row], titles[row], width, None if drop[row] else pseudo[row])
                window = window if changed is None else changed
            made.append(window)
        batch = torch.from_numpy(np.stack(made).astype(np.int64))
        return batch[:, :-1].contiguous(), batch[:, 1:].contiguous()


def shares(rows: int, share: float, generator: torch.Generator) -> np.ndarray:
    """For each row, where it falls in [0, 1) scaled by share: below 1 for that share of the rows, drawn only when
    share > 0 (so the random stream of a run without it is unchanged)."""
    if not share:
        return np.ones(rows)
    return torch.rand(rows, generator=generator).numpy() / share
