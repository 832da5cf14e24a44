"""Train a preset for a fixed number of minutes on one file and print the validation loss it reaches.

Runs the real `gpt.py` pipeline (same code path as a user's run), then reads the run's metrics.jsonl.
Example: python bench/quality.py --data ../shared/data/tinyshakespeare.txt --preset fast --minutes 5
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moviegpt.cli.main import main as gpt_main  # noqa: E402


def run(data: Path, preset: str, minutes: float, extra: list[str], keep: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = keep / data.stem if keep else Path(tmp) / "run"
        code = gpt_main(
            [
                "--training_data",
                str(data),
                "--preset",
                preset,
                "--max_minutes",
                str(minutes),
                "--epochs",
                "100000",
                "--wandb",
                "disabled",
                "--out_dir",
                str(out_dir),
                "--outputs_dir",
                str(Path(tmp) / "outputs"),
                "--prompt",
                "",
                "--max_new_tokens",
                "300",
                "--disable-typewriter",
                *extra,
            ]
        )
        if code != 0:
            raise SystemExit(code)
        events = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    final = [e for e in events if "val_loss" in e][-1]
    return {
        "file": data.name,
        "preset": preset,
        "minutes": minutes,
        "steps": final["step"],
        "tokens_per_s": round(final["tokens_seen"] / final["elapsed_s"]),
        "val_loss": round(final["val_loss"], 4),
        "val_bpc": round(final["val_loss"] / math.log(2), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="text file(s), one run each")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--keep", type=Path, help="keep each run folder (checkpoints, metrics) under this folder")
    args, extra = parser.parse_known_args()
    results = []
    for data in args.data:
        if not data.exists():
            print(f"skipping {data}: not found (the shared corpora live in ../shared/data)")
            continue
        results.append(run(data, args.preset, args.minutes, extra, args.keep))
    print("\n| file | preset | minutes | steps | tokens/s | val loss | val bits/char |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['file']} | {r['preset']} | {r['minutes']:g} | {r['steps']} | {r['tokens_per_s']:,} "
            f"| {r['val_loss']:.4f} | {r['val_bpc']:.4f} |"
        )


if __name__ == "__main__":
    main()
