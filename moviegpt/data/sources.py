"""Turning --training_data (files, folders, globs, URLs) into the list of local text files to train on."""

from __future__ import annotations

import glob
from pathlib import Path

from moviegpt.data.download import download, is_url
from moviegpt.errors import UserError

GLOB_CHARS = set("*?[")


def expand_source(spec: str, download_dir: Path) -> list[Path]:
    """One --training_data entry: a file, a folder of .txt files, a glob pattern or an http(s) URL."""
    if is_url(spec):
        return [download(spec, download_dir)]
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.txt") if p.is_file())
        if not files:
            raise UserError(f"training data folder holds no .txt files: {path}")
        return files
    if not path.exists() and GLOB_CHARS & set(spec):
        files = sorted(Path(p) for p in glob.glob(spec) if Path(p).is_file())
        if not files:
            raise UserError(f"no training data files match {spec!r}")
        return files
    if path.exists() and not path.is_file():  # reading a pipe waits for a writer; the text is read more than once
        raise UserError(f"training data is a pipe or a device, not a file: {path} (save the text to a file first)")
    return [path]


def resolve_sources(specs: list[str], download_dir: Path) -> list[Path]:
    """All local files named by the specs, in order, without repeats."""
    files: list[Path] = []
    for spec in specs:
        for path in expand_source(spec, download_dir):
            if path not in files:
                files.append(path)
    return files
