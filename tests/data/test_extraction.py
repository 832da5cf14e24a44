"""extractor.py: Letterboxd CSV -> training format, on the shared Letterboxd-shaped file and awkward CSVs."""

import csv
import re

import pytest

from extractor import main as extractor_main
from tests.helpers import SHARED_DATA

RECORD = re.compile(r"The description of the movie named '([^\n]*)' is:\n(.+?)\nEND_OF_MOVIE\n", re.S)
HEADER = "id,name,date,tagline,description,minute,rating\n"


def extract(tmp_path, csv_bytes: bytes, *flags: str) -> tuple[int, str, str]:
    src = tmp_path / "movies.csv"
    src.write_bytes(csv_bytes)
    out = tmp_path / "out.txt"
    code = extractor_main(["--input", str(src), "--output", str(out), *flags])
    return code, out.read_text(encoding="utf-8") if out.exists() else "", str(out)


def records(text: str) -> list[tuple[str, str]]:
    found = RECORD.findall(text)
    assert "".join(f"The description of the movie named '{t}' is:\n{d}\nEND_OF_MOVIE\n" for t, d in found) == text
    return found


def test_letterboxd_shaped_file(tmp_path, capsys):
    source = SHARED_DATA / "raw" / "letterboxd_shaped_movies.csv"
    if not source.exists():
        pytest.skip(f"{source} not present (shared data lives in ../shared/data)")
    out = tmp_path / "movies.txt"
    assert extractor_main(["--input", str(source), "--output", str(out), "--small", "100"]) == 0
    found = records(out.read_text(encoding="utf-8"))
    with source.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    good = [
        r
        for r in rows
        if r["name"].strip() and r["description"].strip() and r["description"].strip() != "No description found"
    ]
    assert 0 < len(found) <= len(good) < len(rows)
    assert found[0] == ("Avatar", good[0]["description"].strip())
    summary = capsys.readouterr().out
    assert f"rows read {len(rows)}" in summary and f"written {len(found)}" in summary
    empty = sum(1 for r in rows if not r["description"].strip())
    placeholder = sum(1 for r in rows if r["description"].strip() == "No description found")
    assert f"no description {empty}" in summary and f"placeholder description {placeholder}" in summary
    small = records((tmp_path / "movies_small.txt").read_text(encoding="utf-8"))
    assert small == found[:100]


def test_awkward_csv_cases(tmp_path, capsys):
    big = "word " * 40_000  # larger than the csv module's default field limit (131072)
    body = (
        '1,"Quoted, Title",2001,,"Line one.\r\n\r\n\r\nLine ""two"".",90,3.5\r\n'
        "2,,2002,,No title here,90,3\r\n"
        "3,Empty,2003,,,90,3\r\n"
        "4,Placeholder,2004,,No description found,90,3\r\n"
        '1,"Quoted, Title",2001,,"Line one.\r\n\r\n\r\nLine ""two"".",90,3.5\r\n'
        "5,Short row\r\n"
        f'6,Big,2006,,"{big}",90,3\r\n'
        "7,Café  Society,2016,,Un café à Paris.,96,3.2\r\n"
    )
    data = b"\xef\xbb\xbf" + HEADER.replace("\n", "\r\n").encode() + body.encode("utf-8")
    data += "8,Bad \xff bytes,2008,,Broken,90,3\r\n".encode("latin-1")
    code, text, _ = extract(tmp_path, data)
    assert code == 0
    found = records(text)
    assert found == [
        ("Quoted, Title", 'Line one.\nLine "two".'),
        ("Big", big.strip()),
        ("Café Society", "Un café à Paris."),
    ]
    summary = capsys.readouterr().out
    assert "rows read 9, written 3, skipped 6" in summary
    for reason in (
        "no title 1",
        "no description 1",
        "placeholder description 1",
        "duplicate 1",
        "malformed row 1",
        "invalid UTF-8 1",
    ):
        assert reason in summary


def test_ascii_transliterates_and_default_keeps_text(tmp_path):
    data = (HEADER + "1,Amélie,2001,,Une fille rêveuse à Montmartre — 東京.,122,4\n").encode()
    assert records(extract(tmp_path, data)[1]) == [("Amélie", "Une fille rêveuse à Montmartre — 東京.")]
    ((title, text),) = records(extract(tmp_path, data, "--ascii")[1])
    assert title == "Amelie" and text.startswith("Une fille reveuse a Montmartre -- ") and text.isascii()


def test_shuffle_is_seeded_and_small_takes_the_first_movies(tmp_path):
    data = (HEADER + "".join(f"{i},Movie {i},2000,,Plot number {i}.,90,3\n" for i in range(50))).encode()
    plain = records(extract(tmp_path, data)[1])
    a = records(extract(tmp_path, data, "--shuffle", "--small", "5")[1])
    small = records((tmp_path / "out_small.txt").read_text(encoding="utf-8"))
    b = records(extract(tmp_path, data, "--shuffle")[1])
    c = records(extract(tmp_path, data, "--shuffle", "--seed", "1")[1])
    assert a == b != plain and sorted(a) == sorted(plain) and c != a
    assert small == a[:5]


@pytest.mark.parametrize(
    "flags",
    [["--title-column", "title", "--text-column", "overview"], ["--title-column", "Title", "--text-column", "Plot"]],
)
def test_other_catalogue_columns(tmp_path, flags):
    header = f"{flags[1]},year,{flags[3]}\n"
    code, text, _ = extract(tmp_path, (header + 'Heat,1995,"A thief, a cop."\n').encode(), *flags)
    assert code == 0 and records(text) == [("Heat", "A thief, a cop.")]


def test_missing_input_and_missing_columns_are_one_line_errors(tmp_path, capsys):
    assert extractor_main(["--input", str(tmp_path / "none.csv"), "--output", str(tmp_path / "o.txt")]) == 2
    assert capsys.readouterr().err.strip() == f"error: input CSV not found: {tmp_path / 'none.csv'}"
    (tmp_path / "o.txt").write_text("previous output")
    code, text, _ = extract(tmp_path, b"title,overview\nHeat,A thief.\n")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "'name'" in err and "--title-column" in err
    assert (tmp_path / "o.txt").read_text() == "previous output"


def test_real_tmdb_catalogue_matches_the_shared_conversion(tmp_path):
    source = SHARED_DATA / "raw" / "tmdb_5000_movies_trimmed.csv"
    reference = SHARED_DATA / "tmdb_5000_descriptions.txt"
    if not (source.exists() and reference.exists()):
        pytest.skip("shared TMDB files not present (../shared/data)")
    out = tmp_path / "tmdb.txt"
    assert (
        extractor_main(
            ["--input", str(source), "--output", str(out), "--title-column", "title", "--text-column", "overview"]
        )
        == 0
    )
    ours, theirs = records(out.read_text(encoding="utf-8")), records(reference.read_text(encoding="utf-8"))
    assert ours == list(dict.fromkeys(theirs))  # same records, ours without exact duplicates
