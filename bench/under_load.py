"""Training speed while another program keeps one core busy: the default thread choice against OMP_NUM_THREADS=1.

Three runs of the fast preset on the shipped demo corpus, each for a fixed time: quiet with the default settings,
then with one competing CPU-bound process, with the default settings and with OMP_NUM_THREADS=1. Prints tokens/s
(after the first 10 seconds) and writes bench/results/under_load.json. Needs an otherwise quiet machine.
Target: loaded default >= loaded one thread, and loaded default >= half the quiet default.
    python bench/under_load.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import write_results

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "dataset" / "simple_movies.txt"
BUSY = "while True: pass"


def tokens_per_second(seconds: float, one_thread: bool) -> tuple[float, str]:
    """Train for `seconds`; tokens/s between the log lines at 10 s and at the end, and what the run said."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if one_thread:
        env["OMP_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, str(ROOT / "gpt.py"), "--training_data", str(DATA), "--preset", "fast"]
        command += ["--epochs", "1000", "--max_minutes", str(seconds / 60), "--logging_steps", "10", "--dtype"]
        command += ["float32", "--wandb", "disabled", "--out_dir", f"{tmp}/run", "--outputs_dir", f"{tmp}/out"]
        result = subprocess.run(
            [*command, "--prompt", "", "--max_new_tokens", "1"], env=env, capture_output=True, text=True, check=True
        )
        events = [json.loads(line) for line in Path(f"{tmp}/run/metrics.jsonl").read_text().splitlines()]
    logs = [e for e in events if "train_loss" in e and e["elapsed_s"] >= 10]
    first, last = logs[0], logs[-1]
    said = "; ".join(line for line in result.stdout.splitlines() if "thread" in line)
    return (last["tokens_seen"] - first["tokens_seen"]) / (last["elapsed_s"] - first["elapsed_s"]), said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="training time of each run (60)")
    args = parser.parse_args()
    quiet, _ = tokens_per_second(args.seconds, one_thread=False)
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(1)
        loaded, said = tokens_per_second(args.seconds, one_thread=False)
        loaded_one, _ = tokens_per_second(args.seconds, one_thread=True)
    finally:
        busy.kill()
    result = {
        "cores": os.cpu_count(),
        "seconds_per_run": args.seconds,
        "quiet_default_tokens_per_s": round(quiet),
        "loaded_default_tokens_per_s": round(loaded),
        "loaded_one_thread_tokens_per_s": round(loaded_one),
        "what_the_loaded_run_said": said,
    }
    result = write_results("under_load", result)
    print(json.dumps(result, indent=1))
    ok = loaded >= 0.95 * loaded_one and loaded >= quiet / 2
    print(f"target (loaded default >= one thread, and >= half the quiet speed): {'met' if ok else 'missed'}")


if __name__ == "__main__":
    main()
