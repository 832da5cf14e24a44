"""GPU speed of a finished training run: training tokens/s and MFU, and generation chars/s at batch 1 and 16.

Reads the run's metrics.jsonl (the tokens/s it logged, the first report left out: it holds the start-up and any
compile), takes the model size from its last.pt, and counts model FLOPs per token as bench/train_speed.py does:
6N + 12*L*H*Q*T. MFU is against the GPU's published dense bf16 peak (--peak_tflops; the H200 SXM's is 989).
Generation goes through generate() as `gpt.py --checkpoint` does (bf16 weights, KV cache), 500 new characters per
row, the median of three timed runs after a warm-up.

    python bench/gpu_speed.py RUN_FOLDER [--peak_tflops 989] [--name gpu_speed]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from results_file import write_results  # noqa: E402
from train_speed import flops_per_token  # noqa: E402

from moviegpt.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from moviegpt.generation.config import GenerationConfig  # noqa: E402
from moviegpt.generation.generate import generate  # noqa: E402
from moviegpt.records import RecordFormat  # noqa: E402
from moviegpt.runtime import prepare_for_inference, resolve_inference_dtype  # noqa: E402


def generation_speed(model: torch.nn.Module, tokenizer, rows: int, chars: int = 500) -> float:
    """Characters per second over all rows (sampling, no stop string, so every row makes `chars`)."""
    device = next(model.parameters()).device
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    config = GenerationConfig(max_new_tokens=chars, num_samples=rows, guidance_scale=1.0)
    prompt = RecordFormat().title_prompt("The Moon Baker")
    generate(model, tokenizer, prompt, config)  # warm-up
    times = []
    for _ in range(3):
        sync()
        start = time.perf_counter()
        texts = generate(model, tokenizer, prompt, config)
        sync()
        times.append(time.perf_counter() - start)
    return sum(len(t) for t in texts) / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--peak_tflops", type=float, default=989.0, help="published dense bf16 peak of the GPU")
    parser.add_argument("--name", default="gpu_speed")
    parser.add_argument("--device", default="cuda", help="(cpu: to try the script where there is no GPU)")
    args = parser.parse_args()
    events = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines()]
    speeds = [e["tokens_per_s"] for e in events if "tokens_per_s" in e]
    speeds = speeds[1:] or speeds
    checkpoint = load_checkpoint(args.run / "last.pt")
    model, tokenizer = model_from_checkpoint(checkpoint)
    device = torch.device(args.device)
    model = prepare_for_inference(model, device, resolve_inference_dtype("auto", device))
    tokens_per_s = statistics.median(speeds)
    result = {
        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else "none",
        "torch": torch.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": [e["step"] for e in events if "step" in e][-1],
        "train_tokens_per_s": round(tokens_per_s),
        "mfu": tokens_per_s * flops_per_token(model) / (args.peak_tflops * 1e12),
        "peak_tflops": args.peak_tflops,
        "generation_chars_per_s": {str(rows): round(generation_speed(model, tokenizer, rows)) for rows in (1, 16)},
    }
    print(json.dumps(write_results(args.name, result), indent=1))


if __name__ == "__main__":
    main()
