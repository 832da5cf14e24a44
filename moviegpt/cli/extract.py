"""`extractor.py`: turn Letterboxd's movies.csv (or another catalogue CSV) into MovieGPT's training format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moviegpt.cli.arguments import OneLineParser, positive_int
from moviegpt.data.extraction import ExtractConfig, extract
from moviegpt.errors import UserError

DESCRIPTION = "Turn Letterboxd's movies.csv (or another catalogue CSV) into MovieGPT's training format."


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="extractor.py", description=DESCRIPTION)
    p.add_argument("--input", type=Path, default=Path("movies.csv"), help="catalogue CSV to read (movies.csv)")
    p.add_argument(
        "--output",
        type=Path,
        default=Path("dataset/movie_descriptions.txt"),
        help="training text to write (dataset/movie_descriptions.txt)",
    )
    p.add_argument("--title-column", default="name", help="column with the title (Letterboxd: name; TMDB: title)")
    p.add_argument(
        "--text-column",
        default="description",
        help="column with the description (Letterboxd: description; TMDB: overview; Wikipedia: Plot)",
    )
    p.add_argument("--small", type=positive_int, help="also write the first N movies to <output>_small.txt")
    p.add_argument("--small-output", type=Path, help="where --small writes (default <output stem>_small.txt)")
    p.add_argument("--shuffle", action="store_true", help="shuffle the movies (with --seed)")
    p.add_argument("--seed", type=int, default=7331, help="shuffle seed (7331, as the original)")
    p.add_argument("--ascii", action="store_true", help="transliterate to ASCII with unidecode (the original did)")
    p.add_argument(
        "--template",
        help="build each record from named columns instead of a movie, e.g. "
        "'{sentiment}：{review}' (the movie columns are then not used)",
    )
    p.add_argument("--record-end", default="END_OF_MOVIE", help="the line that ends every record (END_OF_MOVIE)")
    p.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="COLUMN=RAW:TEXT",
        help="with --template: write TEXT where COLUMN holds RAW (repeatable), e.g. sentiment=1:好看",
    )
    p.add_argument(
        "--max-chars", type=positive_int, default=2000, help="drop descriptions longer than this many characters (2000)"
    )
    p.add_argument("--encoding", default="utf-8", help="the CSV's text encoding, e.g. latin-1 or cp1252 (utf-8)")
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="keep only the rows whose COLUMN holds VALUE (repeatable), e.g. type=Movie for Netflix's catalogue",
    )
    return p


def parse_where(specs: list[str]) -> dict[str, str]:
    """--where type=Movie --where country=France -> {"type": "Movie", "country": "France"}"""
    where = {}
    for spec in specs:
        column, _, value = spec.partition("=")
        if not column or not _:
            raise UserError(f"--where takes COLUMN=VALUE, got {spec!r}")
        where[column] = value
    return where


def parse_values(specs: list[str]) -> dict[str, dict[str, str]]:
    """--value sentiment=1:好看 --value sentiment=0:难看 -> {"sentiment": {"1": "好看", "0": "难看"}}"""
    values: dict[str, dict[str, str]] = {}
    for spec in specs:
        column, _, mapping = spec.partition("=")
        raw, _, text = mapping.partition(":")
        if not column or not mapping or not _:
            raise UserError(f"--value takes COLUMN=RAW:TEXT, got {spec!r}")
        values.setdefault(column, {})[raw] = text
    return values


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = ExtractConfig(
            input=args.input,
            output=args.output,
            title_column=args.title_column,
            text_column=args.text_column,
            small=args.small,
            small_output=args.small_output,
            shuffle=args.shuffle,
            seed=args.seed,
            ascii=args.ascii,
            template=args.template,
            record_end=args.record_end,
            values=parse_values(args.value),
            max_chars=args.max_chars,
            encoding=args.encoding,
            where=parse_where(args.where),
        )
        summary = extract(config)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{args.input} -> {args.output}: {summary}")
    return 0
