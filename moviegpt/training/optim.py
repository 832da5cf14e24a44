"""Optimizers and the learning-rate schedule of a training run.

AdamW alone (nanoGPT's recipe), or Muon on the hidden weight matrices with AdamW on embeddings, the head, norms
and biases (the speedrun recipe); either way one `Optimizers` object, stepped, saved and restored as one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from moviegpt.models import LanguageModel
from moviegpt.runtime import orthogonalisation_dtype
from moviegpt.training.config import TrainConfig
from moviegpt.training.muon import Muon

WARMUP_SHARE = 0.05


class Optimizers:
    """Several torch optimizers stepped as one; every param group carries its peak learning rate (`peak_lr`)."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], scaler: torch.amp.GradScaler | None = None):
        """scaler: float16's loss scaling (disabled in other precisions)."""
        self.optimizers = optimizers
        self.scaler = scaler or torch.amp.GradScaler("cpu", enabled=False)
        for optimizer in optimizers.values():
            for group in optimizer.param_groups:
                group.setdefault("peak_lr", group["lr"])

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [group for optimizer in self.optimizers.values() for group in optimizer.param_groups]

    @property
    def lr(self) -> float:
        """The first group's learning rate now (for logs)."""
        return self.param_groups[0]["lr"]

    def set_lr_factor(self, factor: float) -> None:
        for group in self.param_groups:
            group["lr"] = group["peak_lr"] * factor

    def step(self, params: Iterable[torch.Tensor], grad_clip: float) -> None:
        """Unscale (float16), clip the gradient norm to grad_clip (0: no clipping, as in nanoGPT), step every
        optimizer, and clear the gradients."""
        for optimizer in self.optimizers.values():
            self.scaler.unscale_(optimizer)
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        for optimizer in self.optimizers.values():
            self.scaler.step(optimizer)
        self.scaler.update()
        self.zero_grad(set_to_none=True)

    def load_scaler_state(self, state: dict[str, Any]) -> None:
        """A run saved in bfloat16 or float32 has an empty scaler state: resumed in float16 it starts a fresh one."""
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state)

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


def make_optimizer(
    model: LanguageModel, config: TrainConfig, device: torch.device, dtype: torch.dtype = torch.float32
) -> Optimizers:
    """AdamW with weight decay on matrices only (not biases, norms); with `muon`, Muon on the hidden matrices,
    orthogonalising in the precision that is fast for a run of this device and dtype."""
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
        ns_dtype = orthogonalisation_dtype(device, dtype)
        optimizers["muon"] = Muon(muon, lr=config.muon_lr, weight_decay=0.0, momentum=0.95, ns_dtype=ns_dtype)
    return Optimizers(optimizers, torch.amp.GradScaler(device.type, enabled=dtype == torch.float16))


def lr_factor(config: TrainConfig, step: int, progress: float, warmup: int, budget_used: float = 0.0) -> float:
    """The learning rate as a fraction of its peak: linear warmup for `warmup` steps (ending early at 5% of a
    --max_minutes budget, `budget_used` being its share spent), then cosine decay to min_lr_ratio as progress
    reaches 1, or (warmup-stable-decay) the peak until the last cooldown_frac of the run and a linear decay to
    min_lr_ratio over it. Progress counts steps, or time under --max_minutes."""
    if step < warmup and budget_used < WARMUP_SHARE:  # a timed run's warmup also ends at 5% of its budget
        return max((step + 1) / warmup, budget_used / WARMUP_SHARE)
    progress, floor = min(progress, 1.0), config.min_lr_ratio
    if config.schedule == "wsd":
        into_cooldown = (progress - (1.0 - config.cooldown_frac)) / max(config.cooldown_frac, 1e-9)
        return 1.0 - (1.0 - floor) * min(max(into_cooldown, 0.0), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class Schedule:
    """The learning-rate factor of a run at each step: warmup, then the decay of `lr_factor` over the run's
    progress (steps, or time under a budget). A resumed run that was extended (more steps, epochs or minutes than
    it was planned with) never goes back above the factor it had reached: it goes on at that rate."""

    def __init__(self, config: TrainConfig, total_steps: int, budget_fraction: Callable[[], float]):
        self.config, self.total_steps = config, total_steps
        default_warmup = min(100, max(1, total_steps // 20))
        self.warmup = config.warmup_iters if config.warmup_iters is not None else default_warmup
        self.budget_fraction, self.cap = budget_fraction, 1.0

    def progress(self, step: int) -> float:
        """Fraction of the run done: by steps, or by time when a --max_minutes budget ends it sooner."""
        return max(step / self.total_steps, self.budget_fraction())

    def factor(self, step: int) -> float:
        budget_used = self.budget_fraction()
        return min(lr_factor(self.config, step, self.progress(step), self.warmup, budget_used), self.cap)

    def state_dict(self, step: int, horizon: list) -> dict[str, Any]:
        return {"factor": self.factor(step), "cap": self.cap, "horizon": horizon}

    def load_state_dict(self, state: dict[str, Any], horizon: list) -> None:
        self.cap = state.get("cap", 1.0)
        if state and state.get("horizon") != horizon:  # extended
            self.cap = min(self.cap, state["factor"])
