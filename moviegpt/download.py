"""Fetching files named by an http(s) URL or a Google Drive link into a local cache, once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlparse

from .errors import UserError


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def cached_name(url: str) -> str:
    """A file name that is unique per URL and still shows where the file came from."""
    base = Path(urlparse(url).path).name or "download"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{base}"


def download(url: str, cache_dir: str | Path, quiet: bool = False) -> Path:
    """Download url (plain or Google Drive, through gdown, with a progress bar) unless already cached.

    The file appears under its final name only when complete; a failed download leaves nothing behind.
    """
    import gdown  # imported lazily: only downloads need it

    target = Path(cache_dir) / cached_name(url)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        gdown.download(url=url, output=str(partial), quiet=quiet, timeout=60)
        if not partial.is_file():
            raise UserError(f"download failed: {url}")
        os.replace(partial, target)
    except UserError:
        raise
    except Exception as exc:  # gdown and requests raise many types; the user needs one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"download failed: {url} ({reason})") from None
    finally:
        partial.unlink(missing_ok=True)
    return target
