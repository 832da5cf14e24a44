"""Leaving a torchrun job frees the data-parallel wrapper before the process group goes."""

import gc
import weakref

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from moviegpt.training.distributed import DistContext, shutdown


def test_shutdown_frees_a_wrapper_held_by_a_reference_cycle_then_destroys_the_group():
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    gc.disable()  # only shutdown() may collect the cycle
    try:
        holder: dict = {"wrapper": DistributedDataParallel(torch.nn.Linear(2, 2))}
        holder["self"] = holder
        wrapper = weakref.ref(holder["wrapper"])
        del holder
        assert wrapper() is not None
        shutdown(DistContext(rank=0, local_rank=0, world_size=2))
        assert wrapper() is None
        assert not dist.is_initialized()
    finally:
        gc.enable()
        if dist.is_initialized():
            dist.destroy_process_group()
