"""Turning a movie catalogue CSV (Letterboxd's movies.csv and others) into the training format, streaming."""

from __future__ import annotations

import csv
import hashlib
import html
import re
import string
import tempfile
import zlib
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from moviegpt.errors import UserError
from moviegpt.files import atomic_write
from moviegpt.records import RecordFormat, format_record

PLACEHOLDER = "No description found"
INVALID_BYTES = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes that are not UTF-8


@dataclass
class ExtractConfig:
    input: Path
    output: Path
    title_column: str = "name"
    text_column: str = "description"
    small: int | None = None
    small_output: Path | None = None  # default: <output stem>_small<suffix>
    shuffle: bool = False
    seed: int = 7331
    ascii: bool = False
    template: str | None = None  # e.g. "{sentiment}：{review}": a record from named columns instead of a movie
    record_end: str = RecordFormat().end  # the line that ends every record
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {raw value: text} for --template
    max_chars: int = 2000  # longer descriptions are dropped (Letterboxd's are a few hundred characters)


@dataclass
class ExtractSummary:
    rows_read: int = 0
    written: int = 0
    skipped: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.skipped.items())) or "none"
        return f"rows read {self.rows_read}, written {self.written}, skipped {sum(self.skipped.values())} ({reasons})"


def template_columns(template: str) -> list[str]:
    """The column names a --template uses, in order."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    if not names:
        raise UserError(f"--template {template!r} names no column (write them as {{column}})")
    return list(dict.fromkeys(names))


def template_records(
    config: ExtractConfig, header: list[str], rows: Iterator[list[str]], summary: ExtractSummary
) -> Iterator[str]:
    """Records made by --template from named columns; rows with an empty or invalid column are skipped."""
    columns = template_columns(config.template)
    missing = [c for c in columns if c not in header]
    if missing:
        raise UserError(f"{config.input} has no column {missing[0]!r} (columns: {', '.join(header) or 'none'})")
    for row in rows:
        if len(row) != len(header):
            summary.skipped["malformed row"] += 1
            continue
        fields = {c: clean_text(row[header.index(c)]) for c in columns}
        fields = {c: config.values.get(c, {}).get(v, v) for c, v in fields.items()}
        empty = next((c for c, v in fields.items() if not v or INVALID_BYTES.search(v)), None)
        if empty:
            summary.skipped[f"empty or invalid {empty}"] += 1
            continue
        summary.written += 1
        text = config.template.format(**fields)
        yield f"{transliterate(text) if config.ascii else text}\n{config.record_end}\n"


def clean_text(text: str) -> str:
    """HTML entities unescaped (&amp; -> &) and every run of whitespace, paragraph breaks too, made one space: a
    record's text is always one line."""
    return " ".join(html.unescape(text).split())


REPETITIVE = 0.2  # compressed size / size below which a long text is mostly the same words again and again


def degenerate_reason(text: str, max_chars: int) -> str | None:
    """Why a description is not worth training on: too long, or mostly repetition (it compresses too well)."""
    if len(text) > max_chars:
        return "longer than --max-chars"
    if len(text) >= 200 and len(zlib.compress(text.encode())) < REPETITIVE * len(text.encode()):
        return "mostly repetition"
    return None


def transliterate(text: str) -> str:
    from unidecode import unidecode  # imported lazily: only --ascii needs it

    return unidecode(text)


def column_indices(header: list[str], config: ExtractConfig) -> tuple[int, int]:
    missing = [c for c in (config.title_column, config.text_column) if c not in header]
    if missing:
        raise UserError(
            f"{config.input} has no column {missing[0]!r} (columns: {', '.join(header) or 'none'}); "
            "use --title-column / --text-column"
        )
    return header.index(config.title_column), header.index(config.text_column)


def iter_rows(f, summary: ExtractSummary) -> Iterator[list[str]]:
    """CSV rows; a row the csv module cannot parse is counted as malformed and skipped."""
    reader = csv.reader(f)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            summary.rows_read += 1
            summary.skipped["malformed row"] += 1
            continue
        if row:
            summary.rows_read += 1
            yield row


def skip_reason(row: list[str], width: int, title_at: int, text_at: int) -> str | None:
    if len(row) != width:
        return "malformed row"
    if INVALID_BYTES.search(row[title_at]) or INVALID_BYTES.search(row[text_at]):
        return "invalid UTF-8"
    if not row[title_at].strip():
        return "no title"
    if not row[text_at].strip():
        return "no description"
    if row[text_at].strip() == PLACEHOLDER:
        return "placeholder description"
    return None


def check_csv(path: Path) -> None:
    """A missing file, a folder or a binary file is named as what it is."""
    if path.is_dir():
        raise UserError(f"input CSV is a folder, not a file: {path}")
    if not path.is_file():
        raise UserError(f"input CSV not found: {path}")
    with path.open("rb") as f:
        if b"\0" in f.read(1 << 16):
            raise UserError(f"input CSV looks like a binary file (it contains NUL bytes), not a CSV: {path}")


def iter_records(config: ExtractConfig, summary: ExtractSummary) -> Iterator[str]:
    """Training records in source order: bad rows skipped, exact duplicates dropped, all counted."""
    check_csv(config.input)
    csv.field_size_limit(2**31 - 1)
    seen: set[bytes] = set()
    with config.input.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        rows = iter_rows(f, summary)
        header = next(rows, None)
        if header is None:
            raise UserError(f"input CSV is empty: {config.input}")
        summary.rows_read -= 1  # the header is not a movie
        if config.template:
            yield from template_records(config, header, rows, summary)
            return
        title_at, text_at = column_indices(header, config)
        for row in rows:
            reason = skip_reason(row, len(header), title_at, text_at)
            if reason is None:
                title, text = clean_text(row[title_at]), clean_text(row[text_at])
                if config.ascii:
                    title, text = transliterate(title), transliterate(text)
                key = hashlib.blake2b(f"{title}\0{text}".encode(), digest_size=12).digest()
                reason = degenerate_reason(text, config.max_chars) or ("duplicate" if key in seen else None)
                seen.add(key)
            if reason:
                summary.skipped[reason] += 1
                continue
            summary.written += 1
            yield format_record(title, text, config.record_end)


def copy_records(spool: BinaryIO, offsets: array, order: np.ndarray, out: BinaryIO) -> None:
    for i in order:
        spool.seek(offsets[i])
        out.write(spool.read(offsets[i + 1] - offsets[i]))


def extract(config: ExtractConfig) -> ExtractSummary:
    """Stream the CSV into a temporary spool of records, then write the output(s) atomically in order."""
    summary = ExtractSummary()
    config.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=config.output.parent) as spool:
        offsets = array("q", [0])
        for record in iter_records(config, summary):
            offsets.append(offsets[-1] + spool.write(record.encode("utf-8")))
        n = len(offsets) - 1
        order = np.random.default_rng(config.seed).permutation(n) if config.shuffle else np.arange(n)
        atomic_write(config.output, lambda out: copy_records(spool, offsets, order, out))
        if config.small:
            small_output = config.small_output or config.output.with_name(
                f"{config.output.stem}_small{config.output.suffix}"
            )
            atomic_write(small_output, lambda out: copy_records(spool, offsets, order[: config.small], out))
    return summary
