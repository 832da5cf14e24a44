"""Ablation: the old recipe, the old recipe with each change of the new one, and the new recipe (the fast preset),
each trained for the same number of minutes on the same data, one run after another in this one process.

Prints one row per run: validation loss (nats per character, the trainer's fixed validation batches), bits per
character, steps and training tokens/s. A change stays in the recipe only if it lowers the validation loss.
Needs a quiet machine: the budget is wall-clock time.

    python bench/ablation.py --minutes 1 --data ../shared/data/movies.txt ../shared/data/tinyshakespeare.txt
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import run  # noqa: E402

from moviegpt.cli.settings import registry  # noqa: E402
from moviegpt.training.presets import MODERN_RECIPE, PRESETS  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
LEGACY_RECIPE = {name: registry()[name].default for name in MODERN_RECIPE}  # the declared defaults: nanoGPT's


def flags(recipe: dict) -> list[str]:
    """Command-line flags that set every key of a recipe."""
    out = []
    for name, value in recipe.items():
        if isinstance(value, bool):
            out.append(f"--{name}" if value else f"--no-{name}")
        else:
            out += [f"--{name}", str(value)]
    return out


def rows() -> dict[str, list[str]]:
    """Row name -> flags on top of the fast preset."""
    fast = PRESETS["fast"]
    old = flags(LEGACY_RECIPE) + ["--context_length", str(fast["context_length"])]
    changes = {
        "rotary positions": ["--position", "rope"],
        "RMSNorm": ["--norm", "rmsnorm"],
        "QK-norm": ["--qk_norm"],
        "ReLU²": ["--activation", "relu2"],
        "untied + zero-init head and projections": ["--no-tie_weights", "--zero_init"],
        "logit soft-cap 30": ["--logit_softcap", "30"],
        "bigram logits": ["--bigram_logits"],
        "Muon": ["--optimizer", "muon"],
        "WSD schedule": ["--schedule", "wsd"],
        "modern block (RoPE, RMSNorm, QK-norm, ReLU²)": [
            "--position",
            "rope",
            "--norm",
            "rmsnorm",
            "--qk_norm",
            "--activation",
            "relu2",
        ],
    }
    table = {
        "old recipe, old fast preset (context 64, batch 12)": flags(LEGACY_RECIPE)
        + ["--context_length", "64", "--batch_size", "12"],
        f"old recipe, context {fast['context_length']}": old,
    }
    table.update({f"old + {name}": old + extra for name, extra in changes.items()})
    table["new recipe (fast preset)"] = []
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", type=Path, default=[SHARED / "movies.txt", SHARED / "tinyshakespeare.txt"])
    p.add_argument("--minutes", type=float, default=1.0, help="training minutes per row (1)")
    p.add_argument("--only", nargs="*", help="run only the rows whose names contain one of these words")
    args = p.parse_args()
    table = {k: v for k, v in rows().items() if not args.only or any(w in k for w in args.only)}
    results = []
    for data in args.data:
        for name, extra in table.items():
            result = run(data, "fast", args.minutes, extra, None)
            results.append((data.name, name, result))
            print(f"# {data.name} | {name}: {result}", flush=True)
    fast = PRESETS["fast"]
    print(
        f"\n{args.minutes:g} minutes per run, fast preset sizes (n_embd {fast['n_embd']}, {fast['n_layer']} layers, "
        f"{fast['n_head']} heads, batch {fast['batch_size']} x context {fast['context_length']} unless the row says)\n"
    )
    print("| data | recipe | val loss | bits/char | steps | tokens/s |")
    print("|---|---|---|---|---|---|")
    for data, name, r in results:
        print(
            f"| {data} | {name} | {r['val_loss']:.4f} | {r['val_loss'] / math.log(2):.3f} | {r['steps']:,} "
            f"| {r['tokens_per_s']:,} |"
        )


if __name__ == "__main__":
    main()
