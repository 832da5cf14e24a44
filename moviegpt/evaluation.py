"""Exact evaluation: the mean loss over every character of a text, with a sliding window of the model's context."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from moviegpt.likelihood import continuation_losses, sliding_window_loss
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
    bits_saved_interval: float = 0.0  # half-widths of the 95% intervals (normal approximation over the movies)
    win_rate_interval: float = 0.0
    retrieval_interval: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"title: the right title saves {self.bits_saved:.2f} ± {self.bits_saved_interval:.2f} bits per movie and "
            f"wins {self.win_rate:.1%} ± {self.win_rate_interval:.1%} of pairs (chance 50%); picks the true title "
            f"among {self.candidates} for {self.retrieval:.1%} ± {self.retrieval_interval:.1%} of plots (chance "
            f"{1 / self.candidates:.0%}) | {self.movies:,} movies, ± a 95% interval"
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
    saved, wins, found = (nll[:, 1] - nll[:, 0]) / math.log(2), nll[:, 0] < nll[:, 1], nll.argmin(axis=1) == 0
    return TitleMeasures(
        movies=len(movies),
        bits_saved=float(saved.mean()),
        win_rate=float(wins.mean()),
        retrieval=float(found.mean()),
        candidates=k,
        bits_saved_interval=interval(saved),
        win_rate_interval=interval(wins),
        retrieval_interval=interval(found),
    )


def interval(values: np.ndarray) -> float:
    """Half the width of the 95% interval of the mean of values (a normal approximation; 0 for a single value)."""
    if len(values) < 2:
        return 0.0
    return float(1.96 * np.std(values.astype(float), ddof=1) / math.sqrt(len(values)))


def spread(items: list, limit: int) -> list:
    """At most `limit` items, evenly spaced through the list (all of them for limit 0)."""
    if not limit or len(items) <= limit:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]
