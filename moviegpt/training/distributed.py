"""Data-parallel training under torchrun: process group, per-rank device, and the few collectives we need."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from moviegpt.errors import UserError


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a torchrun job; the defaults describe a plain single process."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone prints, logs, and writes checkpoints and outputs."""
        return self.rank == 0


SINGLE = DistContext()


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))


def rank_device(device_name: str, local_rank: int) -> torch.device:
    """Each rank on its own device: cuda:LOCAL_RANK when CUDA is there (or asked for), else the CPU."""
    if device_name not in ("auto", "cpu", "cuda"):
        raise UserError(
            f"--device {device_name} cannot be used under torchrun: each rank takes cuda:LOCAL_RANK "
            "(use --device cuda, cpu or auto)"
        )
    if device_name == "cpu" or (device_name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UserError("--device cuda: CUDA is not available on this machine")
    if local_rank >= torch.cuda.device_count():
        raise UserError(
            f"torchrun started more processes on this machine than it has GPUs "
            f"(local rank {local_rank}, {torch.cuda.device_count()} GPU(s)); "
            "lower --nproc_per_node"
        )
    return torch.device("cuda", local_rank)


def init_distributed(device_name: str, timeout_minutes: float = 10.0) -> tuple[DistContext, torch.device | None]:
    """Join the torchrun job (NCCL on CUDA, gloo on CPU) when launched by torchrun; else a single process.

    Returns the context and, under torchrun, this rank's device. A collective that waits longer than the
    timeout (a rank died) fails instead of hanging, and torchrun then stops every rank.
    """
    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) == 1:
        return SINGLE, None
    context = DistContext(int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"]))
    device = rank_device(device_name, context.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(
        backend, timeout=timedelta(minutes=timeout_minutes), **({"device_id": device} if device.type == "cuda" else {})
    )
    return context, device


def launched_rank() -> int:
    """This process's rank in a torchrun job (torchrun sets RANK in each process it starts), 0 outside one."""
    return int(os.environ.get("RANK", "0") or 0)


def peer_gone(exc: BaseException) -> bool:
    """Whether a collective failed because another rank of the job had stopped (its own message says why)."""
    text = str(exc)
    return isinstance(exc, dist.DistError) or "closed by peer" in text or "reset by peer" in text


def shutdown(context: DistContext, finished: bool = False) -> None:
    """Leave the torchrun job: free what still holds the process group (the DistributedDataParallel wrapper, kept
    alive by reference cycles), wait for every rank when the run finished normally, then destroy the group. Left to
    interpreter exit, gloo's threads were torn down mid-flight now and then ("terminate called without an active
    exception", SIGABRT on one rank)."""
    if context.enabled and dist.is_initialized():
        gc.collect()
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def mean_across_ranks(value: torch.Tensor, context: DistContext) -> torch.Tensor:
    """The mean of a tensor over all ranks (the tensor itself in a single process)."""
    if not context.enabled:
        return value
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / context.world_size


def agree(seconds: float, flag: bool, context: DistContext, device: torch.device) -> tuple[float, bool]:
    """Rank 0's seconds, and whether the flag is set on any rank, on every rank (one all-reduce)."""
    if not context.enabled:
        return seconds, flag
    value = torch.tensor([seconds if context.is_main else 0.0, float(flag)], dtype=torch.float64, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return float(value[0]), bool(value[1] > 0)


def gather_from_all(value: object, context: DistContext) -> list[object]:
    """Every rank's value of a picklable object, by rank, on every rank."""
    if not context.enabled:
        return [value]
    values: list[object] = [None] * context.world_size
    dist.all_gather_object(values, value)
    return values


def broadcast_from_main(value: object, context: DistContext) -> object:
    """Rank 0's value of a picklable object, on every rank."""
    if not context.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@contextlib.contextmanager
def main_first(context: DistContext) -> Iterator[None]:
    """Local rank 0 runs the block first (downloads, token cache); the others follow and reuse its files."""
    if context.enabled and context.local_rank != 0:
        dist.barrier()
    yield
    if context.enabled and context.local_rank == 0:
        dist.barrier()


def wrap_for_data_parallel(module: torch.nn.Module, context: DistContext, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around the (possibly compiled) model; the module itself in a single process."""
    if not context.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def gradient_sync(module: torch.nn.Module, sync: bool) -> contextlib.AbstractContextManager:
    """no_sync() on accumulation micro-steps, so gradients are all-reduced only on the last one."""
    if sync or not hasattr(module, "no_sync"):
        return contextlib.nullcontext()
    return module.no_sync()
