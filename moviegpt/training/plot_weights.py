"""Weighting the plot's loss: in movie-format text each plot character's loss counts `weight` times a title's or
an end mark's, so training spends more of itself where the title can help. Where the plot is is read from the
targets themselves (after "' is:\n", up to "\nEND_OF_MOVIE\n"), so it needs no more data than a batch."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from moviegpt.records import RECORD_END, RecordFormat
from moviegpt.tokenizer.base import Tokenizer


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


class PlotWeights:
    """The training loss with a plot's characters weighted (the validation loss stays plain)."""

    def __init__(self, tokenizer: Tokenizer, weight: float, device: torch.device | None = None):
        marks = (RecordFormat().suffix, "\n" + RECORD_END)
        self.suffix, self.end = (torch.tensor(tokenizer.encode(text), device=device) for text in marks)
        self.weight = weight

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy with plot characters weighted, normalised by the total weight."""
        each = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
        mask = plot_mask(targets, self.suffix, self.end)
        weights = torch.where(mask, self.weight, 1.0)
        return (each * weights).sum() / weights.sum()
