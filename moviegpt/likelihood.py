"""Likelihood with a sliding window of the model's context: every target scored once, with the most context it can
have (what --evaluate reports, and what best_of and the title measures compare)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


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
