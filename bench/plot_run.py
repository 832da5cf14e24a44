"""Draw a run folder's loss.png again (or elsewhere) from its metrics.jsonl, with the code training runs use.

python bench/plot_run.py RUN_DIR [OUT.png] [--title TITLE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moviegpt.training.plotting import write_loss_plot  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    out = args.out or args.run_dir / "loss.png"
    write_loss_plot(args.run_dir / "metrics.jsonl", out, title=args.title or args.run_dir.name)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
