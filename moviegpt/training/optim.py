"""Optimizers and the learning-rate schedule of a training run.

AdamW alone (nanoGPT's recipe), or Muon on the hidden weight matrices with AdamW on embeddings, the head, norms
and biases (the speedrun recipe); either way one `Optimizers` object, stepped, saved and restored as one.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from moviegpt.models import LanguageModel
from moviegpt.training.config import TrainConfig

WARMUP_SHARE = 0.05


class Optimizers:
    """Several torch optimizers stepped as one; every param group carries its peak learning rate (`peak_lr`)."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer]):
        self.optimizers = optimizers
        for optimizer in optimizers.values():
            for group in optimizer.param_groups:
                group.setdefault("peak_lr", group["lr"])

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [group for optimizer in self.optimizers.values() for group in optimizer.param_groups]

    def set_lr_factor(self, factor: float) -> None:
        for group in self.param_groups:
            group["lr"] = group["peak_lr"] * factor

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {name: optimizer.state_dict() for name, optimizer in self.optimizers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "param_groups" in state:  # saved before Muon existed: one AdamW's state
            state = {"adamw": state}
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state[name])


def is_hidden_matrix(name: str, param: torch.Tensor) -> bool:
    """Muon's parameters: the 2-D weights inside the transformer blocks (not embeddings, head or tables)."""
    return param.dim() == 2 and name.startswith("blocks.")


def make_optimizer(model: LanguageModel, config: TrainConfig, device: torch.device) -> Optimizers:
    """AdamW with weight decay on matrices only (not biases, norms); with `muon`, Muon on the hidden matrices."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    muon = [p for n, p in named if config.optimizer == "muon" and is_hidden_matrix(n, p)]
    rest = [p for n, p in named if not any(p is q for q in muon)]
    groups = [
        {"params": [p for p in rest if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type == "cuda"
    adamw = torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), fused=fused, foreach=None if fused else True)
    optimizers: dict[str, torch.optim.Optimizer] = {"adamw": adamw}
    if muon:
        optimizers["muon"] = torch.optim.Muon(muon, lr=config.muon_lr, weight_decay=0.0, momentum=0.95)
    return Optimizers(optimizers)


def lr_factor(config: TrainConfig, step: int, progress: float, warmup: int) -> float:
    """The learning rate as a fraction of its peak: linear warmup for `warmup` steps (ending early at 5% of a
    --max_minutes budget), then cosine decay to min_lr_ratio as progress reaches 1, or (warmup-stable-decay) the
    peak until the last cooldown_frac of the run and a linear decay to min_lr_ratio over it. Progress counts
    steps, or time under --max_minutes."""
    if step < warmup and progress < WARMUP_SHARE:  # a timed run's warmup also ends at 5% of its budget
        return max((step + 1) / warmup, progress / WARMUP_SHARE)
    progress, floor = min(progress, 1.0), config.min_lr_ratio
    if config.schedule == "wsd":
        into_cooldown = (progress - (1.0 - config.cooldown_frac)) / max(config.cooldown_frac, 1e-9)
        return 1.0 - (1.0 - floor) * min(max(into_cooldown, 0.0), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
