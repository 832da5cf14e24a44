"""Checkpoint sizes: a fast-preset run of a few epochs on the shipped sample, with each optimizer; prints the size
of every file in the run folder (which keep the optimizer state, which hold weights only) and the folder's total.

    python bench/checkpoint_sizes.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moviegpt.cli.main import main as gpt_main  # noqa: E402


def sizes(optimizer: str, folder: Path) -> list[tuple[str, int, bool]]:
    code = gpt_main(
        [
            "--training_data",
            str(ROOT / "dataset" / "sample_movie_descriptions.txt"),
            "--preset",
            "fast",
            "--optimizer",
            optimizer,
            "--epochs",
            "5",
            "--wandb",
            "disabled",
            "--out_dir",
            str(folder),
            "--outputs_dir",
            str(folder / "outputs"),
            "--prompt",
            "",
            "--max_new_tokens",
            "1",
            "--disable-typewriter",
        ]
    )
    if code != 0:
        raise SystemExit(code)
    rows = []
    for path in sorted(folder.glob("*.pt")):
        resumable = "optimizer" in torch.load(path, weights_only=True, mmap=True).get("trainer", {})
        rows.append((path.name, path.stat().st_size, resumable))
    return rows


def main() -> None:
    print("| optimizer | file | MB | optimizer state |\n|---|---|---|---|")
    totals = {}
    for optimizer in ("muon", "adamw"):
        with tempfile.TemporaryDirectory() as tmp:
            rows = sizes(optimizer, Path(tmp) / "run")
            inodes = {(Path(tmp) / "run" / name).stat().st_ino: size for name, size, _ in rows}
            totals[optimizer] = sum(inodes.values())  # hard links (last.pt, best.pt) count once
        for name, size, resumable in rows:
            print(f"| {optimizer} | {name} | {size / 1e6:.1f} | {'yes' if resumable else 'no (weights + summary)'} |")
    for optimizer, total in totals.items():
        print(f"\n{optimizer}: run folder {total / 1e6:.1f} MB on disk (--keep_checkpoints 3)")


if __name__ == "__main__":
    main()
