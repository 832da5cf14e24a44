"""Bench results as JSON under bench/results/, each stamped with the machine, torch version, date and command (what
docs/generate.py writes above a table)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from moviegpt.runtime import cpu_capability  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    """The CPU, its cores, torch's version and what the CPU offers matrix products (its vector ISA, bfloat16 and
    AMX flags, whether bfloat16 measured fast, any ISA limit set), for the line above a results table."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    return f"{model} ({os.cpu_count()} cores), torch {torch.__version__}, {cpu_capability()}"


def write_results(name: str, result: dict) -> dict:
    """Stamp the result and write it to bench/results/NAME.json; returns the stamped result."""
    command = "python " + " ".join(["bench/" + Path(sys.argv[0]).name, *sys.argv[1:]])
    result = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "command": command, **result}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {path}")
    return result
