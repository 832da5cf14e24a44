"""Exact evaluation: the mean loss over every character of a text, with a sliding window of the model's context."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

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


@torch.inference_mode()
def sliding_window_loss(
    model: nn.Module, ids: np.ndarray, stride: int, device: torch.device, batch_size: int = 32
) -> tuple[float, int]:
    """Total negative log-likelihood (nats) of ids[1:] given what precedes each, and how many were scored."""
    context = model.config.context_length
    windows = scoring_windows(len(ids), context, min(stride, context))
    total, count = 0.0, 0
    for first in range(0, len(windows), batch_size):
        group = windows[first : first + batch_size]
        width = max(end - begin for begin, end, _ in group)
        x = torch.zeros(len(group), width, dtype=torch.long)
        y = torch.full((len(group), width), -100, dtype=torch.long)  # -100: not scored
        for row, (begin, end, scored_from) in enumerate(group):
            x[row, : end - begin] = torch.from_numpy(ids[begin:end].astype(np.int64))
            keep = slice(scored_from - begin, end - begin)
            y[row, keep] = torch.from_numpy(ids[scored_from + 1 : end + 1].astype(np.int64))
        logits = model(x.to(device))[0].float()
        nll = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), y.to(device).reshape(-1), reduction="sum", ignore_index=-100
        )
        total += nll.item()
        count += int((y != -100).sum())
    return total, count


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
