"""Characters, words or byte-level BPE: the fast preset for the same CPU minutes, compared in bits per character.

For each tokenizer: train with the real gpt.py pipeline on one file for --minutes, then measure on the same
held-out text (the first --eval_chars characters of the file's last 5%, inside every tokenizer's validation split)
the exact bits per character, and the speed of training and of KV-cached generation in tokens and characters/s.

    python bench/tokenizer_compare.py --data ../shared/data/movies.txt --minutes 5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moviegpt.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from moviegpt.cli.main import main as gpt_main  # noqa: E402
from moviegpt.data.textfile import read_text  # noqa: E402
from moviegpt.evaluation import evaluate_text  # noqa: E402
from moviegpt.generation.config import GenerationConfig  # noqa: E402
from moviegpt.generation.generate import generate  # noqa: E402


def train(data: Path, kind: str, minutes: float, out_dir: Path, extra: list[str]) -> dict:
    code = gpt_main(
        [
            "--training_data",
            str(data),
            "--tokenizer",
            kind,
            "--preset",
            "fast",
            "--max_minutes",
            str(minutes),
            "--epochs",
            "100000",
            "--wandb",
            "disabled",
            "--out_dir",
            str(out_dir),
            "--outputs_dir",
            str(out_dir / "outputs"),
            "--prompt",
            "",
            "--max_new_tokens",
            "1",  # training only: the one character generated afterwards is not used
            "--disable-typewriter",
            *extra,
        ]
    )
    if code != 0:
        raise SystemExit(code)
    events = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    final = [e for e in events if "val_loss" in e][-1]
    return {"steps": final["step"], "train_tokens_per_s": final["tokens_seen"] / final["elapsed_s"]}


def generation_speed(model, tokenizer, new_tokens: int = 400) -> tuple[float, float]:
    """Tokens/s and characters/s of KV-cached sampling from an empty prompt (no stop string)."""
    torch.manual_seed(0)
    config = GenerationConfig(max_new_tokens=new_tokens, seed=0)
    start = time.perf_counter()
    (text,) = generate(model, tokenizer, "", config)
    seconds = time.perf_counter() - start
    return new_tokens / seconds, len(text) / seconds


def measure(kind: str, run_dir: Path, held_out: str, trained: dict) -> dict:
    model, tokenizer = model_from_checkpoint(load_checkpoint(run_dir / "last.pt"))
    model.eval()
    result = evaluate_text(model, tokenizer, held_out, stride=None, device=torch.device("cpu"))
    chars_per_token = result.characters / result.tokens
    gen_tokens, gen_chars = generation_speed(model, tokenizer)
    return {
        "tokenizer": kind,
        "vocab": tokenizer.vocab_size,
        "chars_per_token": chars_per_token,
        "steps": trained["steps"],
        "train_tok_s": trained["train_tokens_per_s"],
        "train_char_s": trained["train_tokens_per_s"] * chars_per_token,
        "bpc": result.bits_per_character,
        "gen_tok_s": gen_tokens,
        "gen_char_s": gen_chars,
        "unknown": result.unknown,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/movies.txt"))
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--eval_chars", type=int, default=100_000)
    parser.add_argument("--tokenizers", nargs="+", default=["char", "word", "bpe"])
    args, extra = parser.parse_known_args()
    if not args.data.exists():
        raise SystemExit(f"skipping: {args.data} not found (the shared corpora live in ../shared/data)")
    text = read_text(args.data)
    held_out = text[int(len(text) * 0.95) :][: args.eval_chars]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.tokenizers:
            run_dir = Path(tmp) / kind
            rows.append(measure(kind, run_dir, held_out, train(args.data, kind, args.minutes, run_dir, extra)))
            print(json.dumps(rows[-1]), flush=True)
    print(
        f"\n{args.data.name}, fast preset, {args.minutes:g} CPU minutes each; bits per character on "
        f"{len(held_out):,} held-out characters\n"
    )
    print(
        "| tokenizer | vocabulary | chars/token | steps | train tokens/s | train chars/s | val bits/char "
        "| generation tokens/s | generation chars/s | unknown in held-out |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['tokenizer']} | {r['vocab']:,} | {r['chars_per_token']:.2f} | {r['steps']:,} "
            f"| {r['train_tok_s']:,.0f} | {r['train_char_s']:,.0f} | {r['bpc']:.4f} | {r['gen_tok_s']:,.0f} "
            f"| {r['gen_char_s']:,.0f} | {r['unknown']:,} |"
        )


if __name__ == "__main__":
    main()
