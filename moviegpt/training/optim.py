"""Optimizers and the learning-rate schedule of a training run."""

from __future__ import annotations

import math

import torch

from moviegpt.model import LanguageModel
from moviegpt.training.config import TrainConfig


def make_optimizer(model: LanguageModel, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not biases, LayerNorm or embeddings' 1-d params)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type == "cuda"
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), fused=fused, foreach=None if fused else True)


def learning_rate(config: TrainConfig, step: int, progress: float, warmup: int) -> float:
    """Linear warmup for `warmup` steps, then cosine decay to min_lr_ratio * lr as progress reaches 1."""
    if step < warmup:
        return config.lr * (step + 1) / warmup
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return config.lr * (config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine)
