"""Exact evaluation: the mean loss over every character of a text, with a sliding window of the model's context."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from moviegpt.records import Movie, RecordFormat
from moviegpt.tokenizer.base import Tokenizer


@dataclass
class EvalResult:
    loss: float  # mean negative log-likelihood per scored token, in nats
    tokens: int  # tokens scored (every token but the first)
    characters: int  # characters those tokens spell (= tokens for the character tokenizer)
    unknown: int  # characters the model never saw (left out), or words that became <unk>

    @property
    def bits_per_character(self) -> float:
        """Total negative log-likelihood in bits over the characters: comparable across tokenizers."""
        return self.loss * self.tokens / max(self.characters, 1) / math.log(2)

    @property
    def perplexity(self) -> float:
        return math.exp(min(self.loss, 700.0))

    def to_dict(self) -> dict:
        return {**asdict(self), "bits_per_character": self.bits_per_character, "perplexity": self.perplexity}

    def summary(self) -> str:
        unknown = f" ({self.unknown:,} unknown to the model: left out or <unk>)" if self.unknown else ""
        tokens = f" in {self.tokens:,} tokens" if self.tokens != self.characters else ""
        return (
            f"loss {self.loss:.4f} per token | {self.bits_per_character:.4f} bits per character | "
            f"perplexity {self.perplexity:.3f} | {self.characters:,} characters scored{tokens}{unknown}"
        )


def scoring_windows(length: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first scored) input windows over `length` ids: each target ids[t + 1] is scored exactly once,
    in the window that gives it the most context, which is at least context - stride positions."""
    windows, scored_to = [], 0
    while scored_to < length - 1:
        end = min(scored_to + stride if scored_to else context, length - 1)
        begin = max(0, end - context)
        windows.append((begin, end, scored_to))
        scored_to = end
    return windows


Window = tuple[np.ndarray, np.ndarray]  # input ids, and the targets to score (-100: not scored)


@torch.inference_mode()
def window_losses(model: nn.Module, windows: list[Window], device: torch.device, batch_size: int = 32) -> np.ndarray:
    """The total negative log-likelihood (nats) of each window's scored targets, windows batched together."""
    totals = np.zeros(len(windows))
    for first in range(0, len(windows), batch_size):
        group = windows[first : first + batch_size]
        width = max(len(x) for x, _ in group)
        x = torch.zeros(len(group), width, dtype=torch.long)
        y = torch.full((len(group), width), -100, dtype=torch.long)
        for row, (inputs, targets) in enumerate(group):
            x[row, : len(inputs)] = torch.from_numpy(inputs.astype(np.int64))
            y[row, : len(targets)] = torch.from_numpy(targets.astype(np.int64))
        logits = model(x.to(device))[0].float()
        nll = F.cross_entropy(logits.transpose(1, 2), y.to(device), reduction="none", ignore_index=-100)
        totals[first : first + len(group)] = nll.sum(dim=1).cpu().numpy()
    return totals


def windows_over(ids: np.ndarray, context: int, stride: int, score_from: int = 0) -> list[Window]:
    """Windows that score every target ids[t + 1], t >= score_from, once, each with the most context it can have."""
    made = []
    for begin, end, scored_from in scoring_windows(len(ids), context, min(stride, context)):
        if end <= score_from:
            continue
        targets = np.full(end - begin, -100, dtype=np.int64)
        keep = max(scored_from, score_from)
        targets[keep - begin :] = ids[keep + 1 : end + 1]
        made.append((ids[begin:end], targets))
    return made


def sliding_window_loss(model: nn.Module, ids: np.ndarray, stride: int, device: torch.device) -> tuple[float, int]:
    """Total negative log-likelihood (nats) of ids[1:] given what precedes each, and how many were scored."""
    windows = windows_over(ids, model.config.context_length, stride)
    return float(window_losses(model, windows, device).sum()), max(len(ids) - 1, 0)


def continuation_losses(
    model: nn.Module, pairs: list[tuple[np.ndarray, np.ndarray]], device: torch.device
) -> np.ndarray:
    """The negative log-likelihood (nats) of each continuation after its prompt."""
    context = model.config.context_length
    windows, owner = [], []
    for i, (prompt, continuation) in enumerate(pairs):
        made = windows_over(np.concatenate([prompt, continuation]), context, context // 2, len(prompt) - 1)
        windows += made
        owner += [i] * len(made)
    return np.bincount(owner, weights=window_losses(model, windows, device), minlength=len(pairs))


def evaluate_ids(
    model: nn.Module, tokenizer: Tokenizer, ids: np.ndarray, stride: int | None, device: torch.device, unknown: int = 0
) -> EvalResult:
    """Mean loss over ids with the given stride (default: half the model's context)."""
    stride = stride or max(1, model.config.context_length // 2)
    total, count = sliding_window_loss(model, ids, stride, device)
    return EvalResult(
        loss=total / max(count, 1), tokens=count, characters=len(tokenizer.decode(ids[1:])), unknown=unknown
    )


def evaluate_text(
    model: nn.Module, tokenizer: Tokenizer, text: str, stride: int | None, device: torch.device
) -> EvalResult:
    ids, unknown = tokenizer.encode_known(text)
    return evaluate_ids(model, tokenizer, ids, stride, device, unknown)


@dataclass
class TitleMeasures:
    """How much a model uses the title: each plot (and its end mark) scored after its own title and after others."""

    movies: int  # movies scored
    bits_saved: float  # mean bits per movie the right title saves against another movie's title
    win_rate: float  # share of movies whose plot is more likely after its own title than after the other one
    retrieval: float  # share of plots whose own title is the likeliest among `candidates` titles
    candidates: int

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"title: the right title saves {self.bits_saved:.2f} bits per movie and wins {self.win_rate:.1%} of "
            f"pairs (chance 50%); picks the true title among {self.candidates} for {self.retrieval:.1%} of plots "
            f"(chance {1 / self.candidates:.0%}) | {self.movies:,} movies"
        )


def title_measures(
    model: nn.Module, tokenizer: Tokenizer, movies: list[Movie], fmt: RecordFormat, device: torch.device,
    candidates: int = 10,
) -> TitleMeasures | None:  # fmt: skip
    """Each plot scored after its own title and after the titles of the next candidates - 1 movies (a fixed
    derangement: the other title of a pair is the next movie's). None when fewer than two movies can be read."""
    movies = [m for m in movies if tokenizer.can_encode(fmt.title_prompt(m.title) + m.description + fmt.end)]
    if len(movies) < 2:
        return None
    k = min(candidates, len(movies))
    plots = [tokenizer.encode_array(f"{m.description}\n{fmt.end}") for m in movies]
    prompts = [tokenizer.encode_array(fmt.title_prompt(m.title)) for m in movies]
    pairs = [(prompts[(i + j) % len(movies)], plot) for i, plot in enumerate(plots) for j in range(k)]
    nll = continuation_losses(model, pairs, device).reshape(len(movies), k)
    return TitleMeasures(
        movies=len(movies),
        bits_saved=float((nll[:, 1] - nll[:, 0]).mean() / math.log(2)),
        win_rate=float((nll[:, 0] < nll[:, 1]).mean()),
        retrieval=float((nll.argmin(axis=1) == 0).mean()),
        candidates=k,
    )


def spread(items: list, limit: int) -> list:
    """At most `limit` items, evenly spaced through the list (all of them for limit 0)."""
    if not limit or len(items) <= limit:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]
