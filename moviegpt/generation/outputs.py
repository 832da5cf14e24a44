"""Generated text on disk: one new file per generation under the outputs folder, written atomically."""

from __future__ import annotations

import contextlib
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


def missing_folders(path: Path) -> list[Path]:
    """The folders above path that do not exist yet, deepest first."""
    return [p for p in path.parents if not p.exists()]


def write_text(path: Path, text: str) -> None:
    """Write atomically; on failure (a full disk) the folders made for it are removed again, the file never made."""
    made = missing_folders(path)
    try:
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as exc:
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only an empty folder goes; one that anything else wrote into stays
        raise UserError(f"cannot write output to {path.parent}: {exc.strerror or exc}") from None


def check_folder(folder: str, flag: str = "--outputs_dir") -> None:
    """Check now that an output folder exists and is writable, or can be made, so a bad one is reported before a
    long training run or generation; nothing is created until there is something to write into it."""
    path = Path(folder)
    missing = missing_folders(path / "file")
    existing = missing[-1].parent if missing else path
    if not existing.is_dir():
        raise UserError(f"cannot create {flag} {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(
            f"{flag} {path} is not writable"
            if existing == path
            else f"cannot create {flag} {path}: {existing} is not writable"
        )
