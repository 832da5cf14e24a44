"""Fetching files named by an http(s) URL, a Google Drive link or a Drive file id into a local cache, once."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from moviegpt.errors import UserError

DRIVE_FILE_ID = re.compile(r"[-\w]{25,}")  # Google Drive file ids are long runs of letters, digits, - and _
HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def is_remote(spec: str) -> bool:
    """An http(s) URL, or a bare Google Drive file id that is not also a local path."""
    return is_url(spec) or (DRIVE_FILE_ID.fullmatch(spec) is not None and not Path(spec).exists())


def drive_file_id(spec: str) -> str | None:
    """The Google Drive file id in a Drive link or a bare id; None for other URLs."""
    if not is_url(spec):
        return spec if DRIVE_FILE_ID.fullmatch(spec) else None
    from gdown.parse_url import parse_url  # imported lazily: only downloads need gdown

    return parse_url(spec)[0]


def cached_name(spec: str) -> str:
    """A file name unique per source (every link form of one Drive file shares it) that shows its origin."""
    file_id = drive_file_id(spec)
    if file_id:
        return f"gdrive-{file_id}"
    base = Path(urlparse(spec).path).name or "download"
    return f"{hashlib.sha256(spec.encode()).hexdigest()[:12]}-{base}"


def looks_like_html(path: Path) -> bool:
    """Whether a file starts like a web page (Google Drive's quota and virus-scan pages, login walls)."""
    with path.open("rb") as f:
        head = f.read(512).lstrip().lower()
    return head.startswith(HTML_STARTS)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str | None, remove_on_mismatch: bool) -> None:
    """Refuse a file whose SHA-256 is not `expected` (a bad download is removed from the cache)."""
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected.lower():
        if remove_on_mismatch:
            path.unlink(missing_ok=True)
        removed = "; the download was removed" if remove_on_mismatch else ""
        raise UserError(f"checksum mismatch for {path.name}: expected sha256 {expected}, got {actual}{removed}")


def download(spec: str, cache_dir: str | Path, quiet: bool = False, reject_html: bool = False) -> Path:
    """Download a URL, Drive link or Drive id (through gdown, with a progress bar) unless already cached.

    The file appears under its final name only when complete; a failed, truncated or (with reject_html)
    web-page download leaves nothing behind.
    """
    import gdown  # imported lazily: only downloads need it

    target = Path(cache_dir) / cached_name(spec)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=target.parent, prefix=".downloading-"))  # gdown's own .part files too
    partial = workdir / target.name
    source = {"url": spec} if is_url(spec) else {"id": spec}
    try:
        gdown.download(output=str(partial), quiet=quiet, timeout=60, **source)
        if not partial.is_file():
            raise UserError(f"download failed: {spec}")
        if reject_html and looks_like_html(partial):
            raise UserError(
                f"{spec} sent a web page, not the file (a Google Drive quota or virus-scan page, "
                "or a link that needs a login?); nothing was saved"
            )
        os.replace(partial, target)
    except UserError:
        raise
    except Exception as exc:  # gdown and requests raise many types; the user needs one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "IncompleteRead" in reason or "Connection broken" in reason:
            reason = "the connection closed before the whole file arrived"
        raise UserError(f"download failed: {spec} ({reason}); nothing was saved") from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target


def fetch(spec: str, cache_dir: str | Path, sha256: str | None = None, reject_html: bool = False) -> Path:
    """A local path for spec: the file itself, or its cached download; checked against sha256 when given."""
    if not is_remote(spec):
        path = Path(spec)
        if sha256 is not None and path.is_dir():
            raise UserError(f"--sha256 checks one file, but {path} is a folder")
        if sha256 is not None and path.is_file():
            check_sha256(path, sha256, remove_on_mismatch=False)
        return path
    path = download(spec, cache_dir, reject_html=reject_html)
    check_sha256(path, sha256, remove_on_mismatch=True)
    return path
