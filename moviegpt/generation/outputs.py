"""Generated text on disk: one new file per generation under the outputs folder, written atomically."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from moviegpt.errors import UserError
from moviegpt.files import atomic_write


def save_output(text: str, outputs_dir: str | Path, stem: str = "output") -> Path:
    """Write text as UTF-8 to outputs_dir/<stem>_<timestamp>.txt, never overwriting an existing file."""
    outputs_dir = Path(outputs_dir)
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    path = outputs_dir / f"{stem}_{stamp}.txt"
    counter = 1
    while path.exists():
        path = outputs_dir / f"{stem}_{stamp}_{counter}.txt"
        counter += 1
    write_text(path, text)
    return path


def write_text(path: Path, text: str) -> None:
    try:
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as exc:
        raise UserError(f"cannot write output to {path.parent}: {exc.strerror or exc}") from None


def check_outputs_dir(outputs_dir: str) -> None:
    """Create --outputs_dir now, so a bad one is reported before a long training run or generation."""
    path = Path(outputs_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --outputs_dir {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise UserError(f"--outputs_dir {path} is not writable")
