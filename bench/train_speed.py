"""Training speed: tokens/s and model FLOPs utilisation (MFU) against the matrix-product peak of this machine.

The peak fp32 and bf16 matrix-product rates are measured first, in the same run. Each configuration then runs a
few real training steps (Trainer.train_step: the size's optimizer, clipping, autocast) on random tokens; the fast
preset runs with its recipe (RoPE, RMSNorm, QK-norm, ReLU², Muon), the other sizes with nanoGPT's (AdamW). Model
FLOPs per token are 6N + 12*L*H*Q*T (N parameters without the position table, L layers, H heads of size Q,
context T).

    python bench/train_speed.py [--compile] [--steps 10] [--only fast nanoGPT]
The warm-up steps' time is printed too: with --compile it is about the compile time a run pays at start.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moviegpt.data.dataset import TextDataset  # noqa: E402
from moviegpt.model import GPT, GPTConfig  # noqa: E402
from moviegpt.settings import build  # noqa: E402
from moviegpt.tokenizer.char import CharTokenizer  # noqa: E402
from moviegpt.training.config import TrainConfig  # noqa: E402
from moviegpt.training.dtype_probe import fastest_cpu_dtype  # noqa: E402
from moviegpt.training.presets import PRESETS  # noqa: E402
from moviegpt.training.tracking import RunLogger  # noqa: E402
from moviegpt.training.trainer import Trainer  # noqa: E402

VOCAB = 65
SIZES = {  # name: (n_layer, n_head, n_embd, context, batch), recipe (model options and optimizer; {}: the defaults)
    "nanoGPT CPU example": ((4, 4, 128, 64, 12), {}),
    "fast preset": (
        tuple(PRESETS["fast"][k] for k in ("n_layer", "n_head", "n_embd", "context_length", "batch_size")),
        {**PRESETS["fast"], "windows": "anywhere", "title_dropout": 0.0},  # (random tokens: no movie records)
    ),
    "original size, batch 8": ((8, 8, 768, 256, 8), {}),
}


def peak_matmul_flops(dtype: torch.dtype, repeats: int = 8) -> float:
    """The best rate of square matrix products of a few sizes (the sizes differ in what they saturate)."""
    best = 0.0
    for n in (1024, 2048, 4096):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - start))
    return best


def flops_per_token(model: GPT) -> float:
    c = model.config
    table = getattr(model, "position_embedding", None)  # none with rotary positions
    n = model.num_parameters() - (table.weight.numel() if table is not None else 0)
    return 6 * n + 12 * c.n_layer * c.n_embd * c.context_length


def tokens_per_second(
    size: tuple, recipe: dict, dtype: torch.dtype | None, compile: bool, steps: int
) -> tuple[float, GPT, torch.dtype, float]:
    """Tokens/s of the real training step, the model, the dtype used and the seconds of the warm-up steps
    (which include compiling)."""
    layers, heads, embd, context, batch = size
    tokenizer = CharTokenizer(chr(32 + i) for i in range(VOCAB))
    tokens = np.random.default_rng(0).integers(0, VOCAB, 2_000_000).astype(np.uint8)
    torch.manual_seed(0)
    sizes = {"context_length": context, "n_embd": embd, "n_head": heads, "n_layer": layers, "dropout": 0.0}
    model = GPT(build(GPTConfig, {**recipe, **sizes}, vocab_size=VOCAB))
    with tempfile.TemporaryDirectory() as tmp:
        if dtype is None:  # default flags: --dtype auto measures which is faster here (fresh cache: it probes)
            dtype = fastest_cpu_dtype(model, batch, Path(tmp) / "dtypes.json")[0]
        trainer = Trainer(
            model,
            TextDataset.from_tokens(tokens, tokenizer),
            build(TrainConfig, {**recipe, "batch_size": batch, "compile": compile}),
            torch.device("cpu"),
            dtype,
            RunLogger(Path(tmp), "disabled", "bench", {}),
        )
        start = time.perf_counter()
        for _ in range(3 if not compile else 4):  # warm-up (and compilation)
            trainer.train_step().item()
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(steps):
            loss = trainer.train_step()
        loss.item()
        return steps * batch * context / (time.perf_counter() - start), model, dtype, warmup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to start)")
    parser.add_argument("--only", nargs="*", help="only the sizes whose names contain one of these words")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    variants = [(torch.float32, False), (torch.bfloat16, False), (None, False)]  # None: default flags
    variants += [(torch.float32, True), (torch.bfloat16, True)] if args.compile else []
    rows = []
    for name, (size, recipe) in SIZES.items():
        if args.only and not any(word in name for word in args.only):
            continue
        steps = max(2, args.steps // 4) if size[2] >= 768 else args.steps
        for dtype, compile in variants:
            rate, model, used, warmup = tokens_per_second(size, recipe, dtype, compile, steps)
            mode = ("compile" if compile else "eager") + (" (default flags: --dtype auto)" if dtype is None else "")
            rows.append((name, model, used, mode, rate))
            print(f"measured {name} {used} {mode}: {rate:,.0f} tokens/s, warm-up steps {warmup:.1f} s", flush=True)
    # The peak is measured after the models (the CPU is warm then, as during training) and is the best of two
    # rounds, so that a slow moment does not make utilisation look better than it is.
    peak = {dtype: max(peak_matmul_flops(dtype), peak_matmul_flops(dtype)) for dtype in (torch.float32, torch.bfloat16)}
    print(
        f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads; measured matmul peak: "
        f"fp32 {peak[torch.float32] / 1e9:.0f} GFLOP/s, bf16 {peak[torch.bfloat16] / 1e9:.0f} GFLOP/s\n"
    )
    print(
        "| size | params | dtype | mode | tokens/s | vs fp32 eager | model GFLOP/s | MFU (of the same dtype's peak) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    baseline = {}
    for name, model, dtype, mode, rate in rows:
        baseline.setdefault(name, rate)
        achieved = flops_per_token(model) * rate
        print(
            f"| {name} | {model.num_parameters() / 1e6:.2f}M | {str(dtype).removeprefix('torch.')} "
            f"| {mode} | {rate:,.0f} | {rate / baseline[name]:.2f}x "
            f"| {achieved / 1e9:.0f} | {achieved / peak[dtype]:.1%} |"
        )


if __name__ == "__main__":
    main()
