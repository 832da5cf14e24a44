"""Muon (Keller Jordan's optimizer for hidden weight matrices): momentum with Nesterov, then each update
orthogonalised by a Newton-Schulz iteration, run in a precision chosen by the caller.

torch.optim.Muon runs its iteration in bfloat16 on every device, which on a CPU without native bfloat16 (AVX2 only)
is 28-75x slower than float32 and made Muon cost 70% of a training step. This one takes the precision as an
argument (float32 there, bfloat16 where it is fast: runtime.orthogonalisation_dtype) and runs matrices of one
shape as one batched product. Its defaults, param-group keys and state (`momentum_buffer`) are torch's, so the
optimizer states of runs saved with torch.optim.Muon load as they are.
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch

COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # the quintic's a, b, c: steepest slope at zero
STEPS = 5
EPS = 1e-7


def orthogonalise(
    updates: torch.Tensor,
    dtype: torch.dtype,
    coefficients: tuple[float, float, float] = COEFFICIENTS,
    steps: int = STEPS,
    eps: float = EPS,
) -> torch.Tensor:
    """Approximately U V^T of each wide matrix of `updates` (matrices, rows <= cols), computed in `dtype`: every
    matrix is scaled to unit Frobenius norm, then `steps` quintic Newton-Schulz steps X <- (aI + bA + cA^2) X,
    A = X X^T, push its singular values towards 1 (as torch.optim.Muon, batched)."""
    a, b, c = coefficients
    x = updates.to(dtype)
    x = x / x.norm(dim=(-2, -1), keepdim=True).clamp(min=eps)
    if dtype == torch.float32 and x.size(-1) >= 2 * x.size(-2):
        return in_gram_space(x, coefficients, steps)
    for _ in range(steps):
        gram = x @ x.mT
        x = torch.baddbmm(x, torch.baddbmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x


def in_gram_space(x: torch.Tensor, coefficients: tuple[float, float, float], steps: int) -> torch.Tensor:
    """The same iteration for matrices at least twice as wide as tall, in the small rows x rows space: each step's
    factor M = aI + bA + cA^2 is a polynomial in A, so the next A is M A M, and X is multiplied once, by the
    product of the factors, at the end. A third fewer products at our shapes (128 x 512: 8.0 against 12.6 ms on
    one AVX2 core); the same result in exact arithmetic and as close in float32 (not used in bfloat16, where the
    Gram matrix loses too much)."""
    a, b, c = coefficients
    gram = x @ x.mT
    eye = torch.eye(gram.size(-1), dtype=gram.dtype, device=gram.device)
    product = None
    for step in range(steps):
        factor = torch.baddbmm(b * gram + a * eye, gram, gram, alpha=c)
        product = factor if product is None else factor @ product
        if step < steps - 1:
            gram = factor @ gram @ factor
    return product @ x


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape: torch.Size) -> float:
    """torch's shape-based scaling: sqrt(max(1, rows / cols)) (original), or 0.2 sqrt(max(rows, cols))."""
    rows, cols = shape[:2]
    if adjust_lr_fn in (None, "original"):
        return lr * math.sqrt(max(1.0, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


class Muon(torch.optim.Optimizer):
    """Muon for 2-D parameters, with the Newton-Schulz iteration in `ns_dtype`."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_dtype: torch.dtype = torch.float32,
    ):
        defaults = {  # the keys torch.optim.Muon saves, so either one's state loads into the other
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": COEFFICIENTS,
            "eps": EPS,
            "ns_steps": STEPS,
            "adjust_lr_fn": None,
        }
        super().__init__(params, defaults)
        self.ns_dtype = ns_dtype
        for group in self.param_groups:
            if any(p.dim() != 2 for p in group["params"]):
                raise ValueError("Muon takes 2-D parameters only")

    @torch.no_grad()
    def step(self, closure=None) -> None:
        for group in self.param_groups:
            momentum, shapes = group["momentum"], defaultdict(list)
            for p in group["params"]:
                if p.grad is None:
                    continue
                buffer = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buffer.lerp_(p.grad, 1 - momentum)
                update = p.grad.lerp(buffer, momentum) if group["nesterov"] else buffer
                tall = p.size(0) > p.size(1)  # iterated on the wide orientation: the Gram matrix is the smaller
                shapes[(min(p.shape), max(p.shape))].append((p, update.T if tall else update, tall))
            for matrices in shapes.values():  # one batched iteration for every matrix of a shape
                stacked = torch.stack([update for _, update, _ in matrices])
                coefficients, steps, eps = tuple(group["ns_coefficients"]), group["ns_steps"], group["eps"]
                updates = orthogonalise(stacked, self.ns_dtype, coefficients, steps, eps)
                for (p, _, tall), update in zip(matrices, updates, strict=True):
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(
                        update.T if tall else update, alpha=-adjusted_lr(group["lr"], group["adjust_lr_fn"], p.shape)
                    )
