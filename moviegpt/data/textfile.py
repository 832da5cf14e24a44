"""Reading UTF-8 training text, whole or in chunks, refusing missing, empty, binary and non-UTF-8 files."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from moviegpt.errors import UserError

CHUNK_BYTES = 16 * 2**20


def check_readable(path: Path, what: str = "training data") -> None:
    if not path.exists():
        raise UserError(f"{what} not found: {path}")
    if path.is_dir():
        raise UserError(f"{what} is a directory, not a text file: {path}")


def binary_problem(raw: bytes, what: str, path: Path) -> str:
    """What a file with NUL bytes is: UTF-16 text (a byte-order mark, or every other byte NUL), or binary."""
    head = raw[:4096]
    if (
        head.startswith((b"\xff\xfe", b"\xfe\xff"))
        or head[1::2].count(0) > 0.9 * len(head[1::2])
        or (head[0::2].count(0) > 0.9 * len(head[0::2]))
    ):
        return f"{what} is UTF-16 text, not UTF-8: {path} (save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8)"
    return f"{what} looks like a binary file (it contains NUL bytes): {path}"


def iter_text_chunks(path: str | Path, chunk_bytes: int = CHUNK_BYTES, what: str = "training data") -> Iterator[str]:
    """Decoded text of a file in chunks: BOM dropped, CRLF turned into LF, errors named with their offset.

    Raises UserError for a missing file, NUL bytes (binary), invalid UTF-8 or text that is only whitespace.
    """
    path = Path(path)
    check_readable(path, what)
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, carry, seen_text, at_start = 0, "", False, True
    try:
        with path.open("rb") as f:
            while True:
                raw = f.read(chunk_bytes)
                final = not raw
                if b"\x00" in raw:
                    raise UserError(binary_problem(raw, what, path))
                try:
                    text = carry + decoder.decode(raw, final=final)
                except UnicodeDecodeError as exc:
                    at = offset - (len(exc.object) - len(raw)) + exc.start  # exc.object = pending bytes + raw
                    raise UserError(f"{what} is not UTF-8 text: {path} (invalid byte at offset {at})") from None
                if at_start and text:
                    text, at_start = text.removeprefix("\ufeff"), False
                offset += len(raw)
                # A CR at the end of a chunk may pair with an LF at the start of the next one.
                carry = "\r" if text.endswith("\r") and not final else ""
                text = text[:-1] if carry else text
                if "\r" in text:
                    text = text.replace("\r\n", "\n")
                seen_text = seen_text or bool(text.strip())
                if text:
                    yield text
                if final:
                    break
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not seen_text:
        raise UserError(f"{what} is empty: {path}")


def read_text(path: str | Path, what: str = "training data") -> str:
    """The whole text of a file (see iter_text_chunks for what is refused); `what` names it in messages."""
    return "".join(iter_text_chunks(path, what=what))
