"""Choosing the next token from logits: repetition penalty, top-k, top-p (nucleus), greedy or sampled."""

from __future__ import annotations

import torch

from moviegpt.generation.config import GenerationConfig


def apply_repetition_penalty(logits: torch.Tensor, history: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL/Hugging Face rule: a token already present has its logit divided by penalty (multiplied if < 0)."""
    if penalty == 1.0:
        return logits
    seen = logits.gather(1, history)
    return logits.scatter(1, history, torch.where(seen > 0, seen / penalty, seen * penalty))


def top_k_filter(logits: torch.Tensor, k: int | None) -> torch.Tensor:
    if k is None or k >= logits.size(-1):
        return logits
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float | None) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probability reaches p (nucleus sampling)."""
    if p is None or p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    probs = sorted_logits.softmax(dim=-1)
    before = probs.cumsum(dim=-1) - probs  # probability of the tokens ranked above each one
    remove = torch.zeros_like(logits, dtype=torch.bool).scatter(1, order, before >= p)
    return logits.masked_fill(remove, float("-inf"))


def next_tokens(
    logits: torch.Tensor, history: torch.Tensor, config: GenerationConfig, generator: torch.Generator
) -> torch.Tensor:
    """One token per row: greedy (the temperature plays no part), or sampled at the temperature with top-k, top-p."""
    logits = apply_repetition_penalty(logits, history, config.repetition_penalty)
    if config.decode == "greedy":
        return logits.argmax(dim=-1)
    # The largest logit becomes 0 before dividing and the temperature stays a float32 above 0, so a tiny one gives
    # 0 and -inf (the most likely token), never nan.
    logits = (logits - logits.amax(dim=-1, keepdim=True)) / max(config.temperature, 1e-30)
    logits = top_p_filter(top_k_filter(logits, config.top_k), config.top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)[:, 0]
