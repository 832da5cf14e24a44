"""The random generators training draws from (dropout): captured and restored per rank, on every device kind."""

from __future__ import annotations

from typing import Any

import torch


def capture(device: torch.device) -> dict[str, torch.Tensor]:
    """This process's generator states: the CPU's, and the accelerator's the model runs on."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    elif device.type == "mps":
        state["mps"] = torch.mps.get_rng_state()
    return state


def restore(state: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
    elif device.type == "mps" and "mps" in state:
        torch.mps.set_rng_state(state["mps"])


def restore_rank(saved: dict[str, Any], rank: int, device: torch.device, reseed: int) -> None:
    """Restore this rank's generators from a checkpoint's `rng`. A rank the run did not have (more processes than
    before) draws from a new seed; a checkpoint from before per-rank states holds rank 0's CPU state only."""
    ranks = saved.get("ranks") or [{"cpu": saved["torch"]}]
    if rank < len(ranks):
        restore(ranks[rank], device)
    else:
        torch.manual_seed(reseed)
