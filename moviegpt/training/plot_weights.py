"""Weighting the plot's loss: in movie-format text each plot character's loss counts `weight` times a title's or
an end mark's, so training spends more of itself where the title can help; and each character of a plot word that
is also a word of its title counts `copy_weight` times more, so copying from the title pays. Both are read from
the targets themselves (a plot is after "' is:\n", up to "\nEND_OF_MOVIE\n"): no more data than a batch."""

from __future__ import annotations

import re

import torch
from torch.nn import functional as F

from moviegpt.records import RECORD_END, RecordFormat, title_words
from moviegpt.tokenizer.base import Tokenizer
from moviegpt.training.config import TrainConfig


def occurrences(rows: torch.Tensor, pattern: torch.Tensor) -> torch.Tensor:
    """(batch, time) True where pattern begins in each row."""
    found = torch.zeros_like(rows, dtype=torch.bool)
    if rows.shape[1] >= len(pattern):
        found[:, : rows.shape[1] - len(pattern) + 1] = (rows.unfold(1, len(pattern), 1) == pattern).all(-1)
    return found


def plot_mask(targets: torch.Tensor, suffix: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """(batch, time) True at the characters of a plot: from after a title's suffix up to its end mark. Before a
    row's first suffix or end mark, the row is in a plot when that mark is an end mark (or the row has none)."""
    time = targets.shape[1]
    event = torch.zeros_like(targets, dtype=torch.int8)
    starts = occurrences(targets, suffix).nonzero()
    starts = starts[starts[:, 1] + len(suffix) < time]
    event[starts[:, 0], starts[:, 1] + len(suffix)] = 1  # a plot begins
    event[occurrences(targets, end)] = -1  # a plot ends
    positions = torch.arange(time, device=targets.device).expand_as(targets)
    last = torch.where(event != 0, positions, -1).cummax(dim=1).values  # the latest mark so far
    first = torch.where(event != 0, positions, time).min(dim=1).values
    before = (first == time) | (event.gather(1, first.clamp(max=time - 1)[:, None])[:, 0] < 0)
    return torch.where(last >= 0, event.gather(1, last.clamp(min=0)) > 0, before[:, None])


def copy_mask(texts: list[str], fmt: RecordFormat | None = None) -> torch.Tensor:
    """(batch, time) True at the characters of plot words that are words of their record's title, in windows
    decoded one character per position (rows of other lengths stay False)."""
    fmt, time = fmt or RecordFormat(), max((len(t) for t in texts), default=0)
    mask = torch.zeros(len(texts), time, dtype=torch.bool)
    record = re.compile(re.escape(fmt.prefix) + r"([^\n]*?)" + re.escape(fmt.suffix) + r"([^\n]*)")
    for row, text in enumerate(texts):
        for found in record.finditer(text) if len(text) == time else ():
            words = title_words(found.group(1))
            for word in re.finditer(r"[A-Za-z]{3,}", found.group(2)) if words else ():
                if word.group().lower() in words:
                    mask[row, found.start(2) + word.start() : found.start(2) + word.end()] = True
    return mask


class PlotWeights:
    """The training loss with a plot's characters weighted (the validation loss stays plain)."""

    def __init__(
        self, tokenizer: Tokenizer, weight: float, device: torch.device | None = None, copy_weight: float = 1.0
    ):
        marks = (RecordFormat().suffix, "\n" + RECORD_END)
        self.suffix, self.end = (torch.tensor(tokenizer.encode(text), device=device) for text in marks)
        self.tokenizer, self.weight, self.copy_weight = tokenizer, weight, copy_weight

    @classmethod
    def for_training(cls, tokenizer: Tokenizer, config: TrainConfig, device: torch.device) -> PlotWeights | None:
        """The weighted loss a run asks for; None where both weights are 1 (the model's own loss is used)."""
        if config.plot_weight == 1 and config.copy_weight == 1:
            return None
        return cls(tokenizer, config.plot_weight, device, config.copy_weight)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy with plot characters weighted, normalised by the total weight."""
        each = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
        mask = plot_mask(targets, self.suffix, self.end)
        weights = torch.where(mask, self.weight, 1.0)
        if self.copy_weight != 1:  # (read on the host: one small copy of the targets per micro-batch)
            texts = [self.tokenizer.decode(row) for row in targets.tolist()]
            weights = torch.where(copy_mask(texts).to(targets.device), weights * self.copy_weight, weights)
        return (each * weights).sum() / weights.sum()
