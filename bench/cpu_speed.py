"""Training and generation speed on this CPU: the fast preset against the same preset with AdamW and against
nanoGPT's recipe at the same sizes, in one run, interleaved, through the real training step (Trainer.train_step)
on the shipped demo corpus; and, with --quickstart, the README's quick start (3 minutes) as a user runs it.

    python bench/cpu_speed.py [--rounds 5] [--steps 20] [--threads 1] [--quickstart]
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 python bench/cpu_speed.py ...

The second line makes a CPU with native bfloat16 act as an AVX2-only one (oneDNN, ATen and MKL kernels limited to
AVX2; a bfloat16 product then measures 28-75x slower than float32, as on such CPUs). The stamp names the CPU's
capability and any such limit. Each round times every recipe once, in turn, so a slow moment hits all alike; the
table gives the median round. The dtype is each recipe's --dtype auto (measured, as a run does).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results_file import write_results  # noqa: E402
from moviegpt.data.dataset import TextDataset  # noqa: E402
from moviegpt.generation.config import GenerationConfig  # noqa: E402
from moviegpt.generation.search import generate_ids  # noqa: E402
from moviegpt.model import GPT, GPTConfig  # noqa: E402
from moviegpt.runtime import cpu_capability  # noqa: E402
from moviegpt.settings import build  # noqa: E402
from moviegpt.tokenizer.char import CharTokenizer  # noqa: E402
from moviegpt.training.config import TrainConfig  # noqa: E402
from moviegpt.training.dtype_probe import fastest_cpu_dtype  # noqa: E402
from moviegpt.training.presets import PRESETS  # noqa: E402
from moviegpt.training.tracking import RunLogger  # noqa: E402
from moviegpt.training.trainer import Trainer  # noqa: E402

DEMO = ROOT / "dataset" / "simple_movies.txt"
FAST = {**PRESETS["fast"], "windows": "mixed"}
NANOGPT = {  # nanoGPT's recipe (the declared defaults) at the fast preset's sizes
    **{k: FAST[k] for k in ("batch_size", "context_length", "n_embd", "n_head", "n_layer", "dropout", "eval_iters")},
}
RECIPES = {
    "the fast preset": FAST,
    "the fast preset with --optimizer adamw": {**FAST, "optimizer": "adamw"},
    "nanoGPT's recipe at the same sizes": NANOGPT,
}
QUICKSTART = ["--preset", "fast", "--epochs", "100", "--max_minutes", "3", "--title", "The Lonely Miner"]


def trainer_for(recipe: dict, dataset: TextDataset, tmp: Path) -> Trainer:
    torch.manual_seed(0)
    model = GPT(build(GPTConfig, recipe, vocab_size=dataset.tokenizer.vocab_size))
    dtype = fastest_cpu_dtype(model, recipe["batch_size"], tmp / "dtypes.json", say=lambda line: None)[0]
    config = build(TrainConfig, recipe)
    return Trainer(model, dataset, config, torch.device("cpu"), dtype, RunLogger(tmp, "disabled", "bench", {}))


def tokens_per_second(trainer: Trainer, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        loss = trainer.train_step()
    loss.item()
    return steps * trainer.config.batch_size * trainer.context_length / (time.perf_counter() - start)


def chars_per_second(model: GPT, prompt: list[int], chars: int) -> float:
    """Batch 1, sampling, no guidance, the KV cache (what --title does)."""
    config = GenerationConfig(max_new_tokens=chars, temperature=1.0, seed=1)
    start = time.perf_counter()
    generate_ids(model, prompt, config)
    return chars / (time.perf_counter() - start)


def quickstart_steps() -> tuple[int, str]:
    """The README's first command in a scratch folder: the steps it trained in 3 minutes, and its movie."""
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "WANDB_MODE": "disabled"}
        command = [sys.executable, str(ROOT / "gpt.py"), *QUICKSTART, "--out_dir", "run", "--disable-typewriter"]
        out = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600).stdout
    steps = int(re.search(r"done: (\d+) steps", out).group(1))
    return steps, out.split("is:\n", 1)[-1].split("\nsaved to")[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per recipe per round")
    parser.add_argument("--chars", type=int, default=300, help="generated characters per recipe per round")
    parser.add_argument("--threads", type=int, default=None, help="default: as a run chooses (one per core)")
    parser.add_argument("--quickstart", action="store_true", help="also run the README's quick start (3 minutes)")
    parser.add_argument("--name", default="cpu_speed", help="bench/results/NAME.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    text = DEMO.read_text(encoding="utf-8")
    tokenizer = CharTokenizer(sorted(set(text)))
    dataset = TextDataset.from_tokens(tokenizer.encode_array(text), tokenizer)
    prompt = tokenizer.encode("The description of the movie named 'The Lonely Miner' is:\n")
    train, generation = {name: [] for name in RECIPES}, {name: [] for name in RECIPES}
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {name: trainer_for(recipe, dataset, Path(tmp)) for name, recipe in RECIPES.items()}
        for trainer in trainers.values():
            tokens_per_second(trainer, 3)  # warm-up: kernels chosen, the optimizers' state made
        for round_ in range(args.rounds):
            for name, trainer in trainers.items():
                train[name].append(tokens_per_second(trainer, args.steps))
                generation[name].append(chars_per_second(trainer.model, prompt, args.chars))
                trainer.model.train()
            print(f"round {round_ + 1}: " + ", ".join(f"{n} {train[n][-1]:,.0f} tok/s" for n in RECIPES), flush=True)
        dtypes = {name: str(trainer.dtype).removeprefix("torch.") for name, trainer in trainers.items()}
    rows = [
        {"recipe": name, "dtype": dtypes[name], "tokens_per_s": statistics.median(train[name]),
         "chars_per_s": statistics.median(generation[name]), "rounds": train[name]}
        for name in RECIPES
    ]  # fmt: skip
    result = {"cpu": cpu_capability(), "threads": torch.get_num_threads(), "steps": args.steps, "rows": rows}
    if args.quickstart:
        result["quickstart_steps"], result["quickstart_movie"] = quickstart_steps()
    write_results(args.name, result)
    baseline = {row["recipe"]: row for row in rows}["nanoGPT's recipe at the same sizes"]
    print(f"\n{result['cpu']}, {result['threads']} thread(s)\n")
    print("| recipe | dtype | training tokens/s | vs nanoGPT | generation chars/s | vs nanoGPT |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['recipe']} | {row['dtype']} | {row['tokens_per_s']:,.0f} "
              f"| {row['tokens_per_s'] / baseline['tokens_per_s']:.2f}x | {row['chars_per_s']:,.0f} "
              f"| {row['chars_per_s'] / baseline['chars_per_s']:.2f}x |")  # fmt: skip
    if args.quickstart:
        print(
            f"\nquick start: {result['quickstart_steps']:,} steps in 3 minutes; it wrote:\n{result['quickstart_movie']}"
        )


if __name__ == "__main__":
    main()
