"""Turning a movie catalogue CSV (Letterboxd's movies.csv and others) into the training format, streaming."""

from __future__ import annotations

import codecs
import csv
import hashlib
import html
import os
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

from moviegpt.data.textfile import binary_problem
from moviegpt.errors import UserError
from moviegpt.files import atomic_write, is_special
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
    encoding: str = "utf-8"  # the CSV's text encoding
    where: dict[str, str] = field(default_factory=dict)  # column -> value: keep only the rows that have it


@dataclass
class ExtractSummary:
    rows_read: int = 0
    written: int = 0
    skipped: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items())) or "none"
        return f"rows read {self.rows_read}, written {self.written}, skipped {sum(self.skipped.values())} ({reasons})"


def template_columns(template: str) -> list[str]:
    """The column names a --template uses, in order."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError as exc:
        raise UserError(
            f"--template {template!r} is not a valid template ({exc}); write columns as {{column}}"
        ) from None
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


def check_csv(path: Path, encoding: str) -> None:
    """A missing file, a folder, a binary file or an unknown encoding is named as what it is."""
    if path.is_dir():
        raise UserError(f"input CSV is a folder, not a file: {path}")
    if not path.is_file():
        raise UserError(f"input CSV not found: {path}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UserError(f"--encoding {encoding} is not an encoding Python knows (try utf-8, latin-1, cp1252)") from None
    with path.open("rb") as f:
        head = f.read(1 << 16)
    if b"\0" in head and not encoding.lower().startswith("utf-16"):
        raise UserError(binary_problem(head, "input CSV", path))


def kept_by_filters(row: list[str], header: list[str], where: dict[str, str]) -> bool:
    """--where COLUMN=VALUE: keep only the rows whose columns hold these values."""
    return all(row[header.index(column)].strip() == value for column, value in where.items())


def iter_records(config: ExtractConfig, summary: ExtractSummary) -> Iterator[str]:
    """Training records in source order: bad rows skipped, exact duplicates dropped, all counted."""
    check_csv(config.input, config.encoding)
    csv.field_size_limit(2**31 - 1)
    seen: set[bytes] = set()
    encoding = "utf-8-sig" if config.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else config.encoding
    with config.input.open(encoding=encoding, errors="surrogateescape", newline="") as f:
        rows = iter_rows(f, summary)
        header = next(rows, None)
        if header is None:
            raise UserError(f"input CSV is empty: {config.input}")
        summary.rows_read -= 1  # the header is not a movie
        missing = [c for c in config.where if c not in header]
        if missing:
            raise UserError(f"--where: {config.input} has no column {missing[0]!r} (columns: {', '.join(header)})")
        rows = filtered(rows, header, config.where, summary)
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


def filtered(rows: Iterator[list[str]], header: list[str], where: dict[str, str], summary: ExtractSummary):
    """The rows --where keeps; the others are counted as skipped."""
    for row in rows:
        if len(row) == len(header) and not kept_by_filters(row, header, where):
            summary.skipped["not --where"] += 1
        else:
            yield row


def nothing_written(config: ExtractConfig, summary: ExtractSummary) -> UserError:
    """Why no record came out: not UTF-8, no rows after the header, or every row skipped."""
    if summary.skipped.get("invalid UTF-8", 0) > summary.rows_read / 2:
        return UserError(
            f"{config.input} is not {config.encoding} text (most rows have bytes that are not); if it is Latin-1 "
            f"or Windows text, add --encoding latin-1 or --encoding cp1252; nothing was written"
        )
    if summary.rows_read == 0:
        return UserError(f"{config.input} has a header but no rows; nothing was written")
    return UserError(f"no record came out of {config.input} ({summary}); nothing was written")


def copy_records(spool: BinaryIO, offsets: array, order: np.ndarray, out: BinaryIO) -> None:
    for i in order:
        spool.seek(offsets[i])
        out.write(spool.read(offsets[i + 1] - offsets[i]))


def small_output_of(config: ExtractConfig) -> Path | None:
    if not config.small:
        return None
    return config.small_output or config.output.with_name(f"{config.output.stem}_small{config.output.suffix}")


def check_outputs(config: ExtractConfig) -> None:
    """Refuse outputs that would overwrite the input or each other."""

    def same(a: Path, b: Path) -> bool:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))

    if same(config.output, config.input):
        raise UserError(f"--output {config.output} is the input CSV itself; choose another file")
    small = small_output_of(config)
    if small is not None and (same(small, config.output) or same(small, config.input)):
        raise UserError(f"--small-output {small} is the same file as --output or --input; choose another file")


def extract(config: ExtractConfig) -> ExtractSummary:
    """Stream the CSV into a temporary spool of records, then write the output(s) atomically in order."""
    summary = ExtractSummary()
    check_outputs(config)
    spool_dir = None if is_special(config.output) else config.output.parent  # beside the output: the same disk
    if spool_dir is not None:
        spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=spool_dir) as spool:
        offsets = array("q", [0])
        for record in iter_records(config, summary):
            offsets.append(offsets[-1] + spool.write(record.encode("utf-8")))
        n = len(offsets) - 1
        if n == 0:
            raise nothing_written(config, summary)
        order = np.random.default_rng(config.seed).permutation(n) if config.shuffle else np.arange(n)
        atomic_write(config.output, lambda out: copy_records(spool, offsets, order, out))
        small = small_output_of(config)
        if small is not None:
            atomic_write(small, lambda out: copy_records(spool, offsets, order[: config.small], out))
    return summary
