"""Multi-GPU on paper: time to train the Letterboxd corpus at the original's size on 1, 8 and 64 GPUs.

Measured here: the model's FLOPs per token and gradient size, single-process bf16 training throughput and MFU at
the original's size on this CPU, and a gloo all-reduce of that gradient between two local processes.
Estimated: GPU throughput (peak x an assumed MFU) and all-reduce time (ring all-reduce volume / an assumed bus
bandwidth). Every assumption is a flag.

    python bench/scaling.py [--gpu_tflops 989] [--mfu 0.4] [--nvlink_gbs 360] [--network_gbs 45]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import flops_per_token, peak_matmul_flops, tokens_per_second  # noqa: E402

ORIGINAL = (8, 8, 768, 256, 8)  # layers, heads, n_embd, context, batch (batch 8 on this CPU)
ORIGINAL_BATCH = 128  # sequences per GPU per step in the original's settings


def allreduce_worker(rank: int, numel: int, init_file: str, result: dict) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    grad = torch.ones(numel)
    dist.all_reduce(grad)  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        dist.all_reduce(grad)
        times.append(time.perf_counter() - start)
    if rank == 0:
        result["seconds"] = min(times)
    dist.destroy_process_group()


def measure_gloo_allreduce(numel: int) -> float:
    """Seconds for one fp32 all-reduce of numel values between two processes on this machine (gloo)."""
    with tempfile.TemporaryDirectory() as tmp, mp.Manager() as manager:
        result = manager.dict()
        mp.spawn(allreduce_worker, args=(numel, os.path.join(tmp, "init"), result), nprocs=2)
        return result["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu_tflops", type=float, default=989.0, help="GPU bf16 dense peak (H100 SXM: 989)")
    parser.add_argument("--mfu", type=float, default=0.4, help="assumed model FLOPs utilisation on the GPU")
    parser.add_argument("--nvlink_gbs", type=float, default=360.0, help="all-reduce bus bandwidth inside a node")
    parser.add_argument(
        "--network_gbs",
        type=float,
        default=45.0,
        help="all-reduce bus bandwidth across nodes (400 Gb/s InfiniBand per GPU)",
    )
    parser.add_argument("--corpus_mb", type=float, default=300.0, help="corpus size (characters = tokens)")
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()

    rate, model = tokens_per_second(ORIGINAL, torch.bfloat16, compile=False, steps=3)
    per_token = flops_per_token(model)
    bf16_peak = peak_matmul_flops(torch.bfloat16)
    grad_bytes = 4 * model.num_parameters()  # DDP all-reduces fp32 gradients
    gloo_seconds = measure_gloo_allreduce(model.num_parameters())
    print(
        f"measured: {model.num_parameters() / 1e6:.2f}M parameters, {per_token / 1e6:.0f} MFLOP per token, "
        f"{grad_bytes / 1e6:.0f} MB of gradients per step"
    )
    print(
        f"measured: this CPU, one process, bf16, batch 8: {rate:,.0f} tokens/s, MFU {per_token * rate / bf16_peak:.1%}"
    )
    print(
        f"measured: gloo all-reduce of the gradients, 2 processes on this CPU: {gloo_seconds * 1e3:.0f} ms "
        f"(bus bandwidth {grad_bytes / gloo_seconds / 1e9:.2f} GB/s)\n"
    )

    tokens_per_gpu_step = ORIGINAL_BATCH * ORIGINAL[3]
    compute = per_token * tokens_per_gpu_step / (args.gpu_tflops * 1e12 * args.mfu)
    total_tokens = args.epochs * 0.9 * args.corpus_mb * 1e6  # an epoch covers the 90% training split
    print(
        f"estimated: per GPU {tokens_per_gpu_step:,} tokens a step (batch {ORIGINAL_BATCH} x {ORIGINAL[3]}), "
        f"{compute * 1e3:.1f} ms of compute at {args.mfu:.0%} of {args.gpu_tflops:.0f} TFLOP/s; "
        f"{args.epochs} epochs of {args.corpus_mb:.0f} MB = {total_tokens / 1e9:.1f}B tokens\n"
    )
    print(
        "| GPUs | all-reduce per GPU per step | all-reduce time | step (no overlap .. full overlap) "
        "| tokens/s | 50 epochs |"
    )
    print("|---|---|---|---|---|---|")
    for gpus in (1, 8, 64):
        volume = 2 * (gpus - 1) / gpus * grad_bytes
        bandwidth = args.nvlink_gbs if gpus <= 8 else args.network_gbs
        comm = volume / (bandwidth * 1e9)
        slow, fast = compute + comm, max(compute, comm)
        tokens_slow, tokens_fast = gpus * tokens_per_gpu_step / slow, gpus * tokens_per_gpu_step / fast
        print(
            f"| {gpus} | {volume / 1e6:.0f} MB | {comm * 1e3:.1f} ms | {slow * 1e3:.1f} .. {fast * 1e3:.1f} ms "
            f"| {tokens_slow / 1e6:.2f}M .. {tokens_fast / 1e6:.2f}M | {total_tokens / tokens_slow / 60:.0f} .. "
            f"{total_tokens / tokens_fast / 60:.0f} min |"
        )


if __name__ == "__main__":
    main()
