"""Generation speed: characters per second for N new characters at batch 1, KV cache vs full recompute.

Same random weights, same process, greedy decoding, at the original MovieGPT size (n_embd 768, 8 heads, 8 layers,
context 256) and at the fast preset, in float32 and bfloat16 weights. The full-recompute loop is the original's:
a forward pass over the whole (cropped) context for every new character.

    python bench/generation_speed.py [--new_chars 1000] [--sizes original fast] [--dtypes float32 bfloat16]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moviegpt.generation.config import GenerationConfig  # noqa: E402
from moviegpt.generation.search import generate_ids  # noqa: E402
from moviegpt.model import GPT, GPTConfig  # noqa: E402
from moviegpt.settings import build  # noqa: E402
from moviegpt.training.presets import PRESETS  # noqa: E402

VOCAB = 188  # the character vocabulary of ../shared/data/movies.txt


@torch.no_grad()
def full_recompute(model: GPT, prompt: list[int], new_chars: int) -> list[int]:
    idx = torch.tensor([prompt])
    for _ in range(new_chars):
        logits, _ = model(idx[:, -model.config.context_length :])
        idx = torch.cat([idx, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    return idx[0, len(prompt) :].tolist()


def kv_cache(model: GPT, prompt: list[int], new_chars: int) -> list[int]:
    config = GenerationConfig(decode="greedy", max_new_tokens=new_chars)
    return generate_ids(model, prompt, config)[0]


def timed(fn, *args) -> tuple[float, list[int]]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new_chars", type=int, default=1000)
    parser.add_argument("--sizes", nargs="+", default=["original", "fast"], choices=sorted(PRESETS))
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.new_chars} new characters, batch 1")
    print("| size | parameters | weights | KV cache chars/s | full recompute chars/s | speed-up | same text |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        torch.manual_seed(0)
        base = GPT(build(GPTConfig, PRESETS[size], vocab_size=VOCAB)).eval()
        prompt = torch.randint(0, VOCAB, (16,)).tolist()
        for dtype in args.dtypes:
            model = base.to(getattr(torch, dtype))
            kv_cache(model, prompt, 20)  # warm up both paths
            full_recompute(model, prompt, 5)
            kv_s, kv_out = timed(kv_cache, model, prompt, args.new_chars)
            full_s, full_out = timed(full_recompute, model, prompt, args.new_chars)
            # Texts agree until the window first slides (both then condition on different windows).
            agree = min(args.new_chars, base.config.context_length - len(prompt))
            same = "yes" if kv_out[:agree] == full_out[:agree] else "no"
            print(
                f"| {size} | {base.num_parameters() / 1e6:.1f}M | {dtype} | {args.new_chars / kv_s:,.0f} "
                f"| {args.new_chars / full_s:,.1f} | {full_s / kv_s:.1f}x | {same} (first {agree}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
