"""Atomic file writes: a temporary file beside the target, fsync, then os.replace."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".moviegpt-tmp"  # no file of a user's ends so: the clean-up of a killed save removes only ours


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files an interrupted atomic write (kill -9, power loss) left in folder."""
    stale = [p for p in Path(folder).glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def is_special(path: Path) -> bool:
    """Whether path exists and is not a regular file or folder: a device (/dev/null), a pipe, a socket."""
    return path.exists() and not path.is_file() and not path.is_dir()


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call write(file) on a temporary file beside path, fsync it, then rename it over path.

    Readers see the old file or the new one, never a half-written one; on any error the old file stays. A device
    or a pipe is written into as it is, never replaced; a symbolic link's target is what gets replaced.
    """
    path = Path(os.path.realpath(path))
    if is_special(path):
        with path.open("wb") as f:
            write(f)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_alias(source: str | Path, target: str | Path) -> None:
    """Make target the same file as source, atomically: a hard link where possible, else a copy."""
    source, target = Path(source), Path(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}{TEMP_SUFFIX}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
