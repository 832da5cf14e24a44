"""Under torchrun rank 0 decides for every rank: the time a --max_minutes run has used (which sets the learning
rate and the last step) and the dtype --dtype auto measures. Two real gloo processes with clocks that disagree."""

import json
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from moviegpt.data.corpus import DataConfig
from moviegpt.model import GPTConfig
from moviegpt.training import run as run_module
from moviegpt.training.budget import TimeBudget
from moviegpt.training.distributed import DistContext

pytestmark = pytest.mark.slow  # two processes


def worker(rank: int, folder: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{folder}/store", rank=rank, world_size=2)
    context = DistContext(rank=rank, local_rank=rank, world_size=2)
    budget = TimeBudget(max_minutes=1, clock=lambda: [30.0, 90.0][rank], context=context)  # rank 1's clock is ahead
    budget.restart()
    budget.before = 10.0
    stop = budget.sync(stop_requested=rank == 1, device=torch.device("cpu"))
    measured = [torch.bfloat16, torch.float32][rank]  # what each rank's own probe would have said
    run_module.fastest_cpu_dtype = lambda model, batch, cache: (measured, f"rank {rank} measured", 1.5)
    data = DataConfig(sources=[], cache_dir=Path(folder))
    config = run_module.RunConfig(data, GPTConfig(), run_module.TrainConfig(), runtime=run_module.Runtime(dtype="auto"))
    dtype, note, seconds = run_module.training_dtype(config, None, torch.float32, torch.device("cpu"), context)
    result = {"now": budget.now, "stop": stop, "exhausted": budget.exhausted, "dtype": str(dtype), "note": note}
    with open(os.path.join(folder, f"rank{rank}.json"), "w") as f:
        json.dump(result, f)
    dist.destroy_process_group()


def test_every_rank_takes_rank_0s_time_and_dtype(tmp_path):
    mp.spawn(worker, args=(str(tmp_path),), nprocs=2)
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert results[0] == results[1]
    assert results[0]["now"] == 10.0  # rank 0's clock: nothing more since restart; rank 1 would have said 70
    assert results[0]["stop"] is True  # a stop asked on any rank stops every rank
    assert results[0]["dtype"] == "torch.bfloat16" and "rank 0 measured" in results[0]["note"]
