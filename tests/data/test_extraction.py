"""extractor.py: Letterboxd CSV -> training format, on the shared Letterboxd-shaped file and awkward CSVs."""

import csv
import re

import pytest

from extractor import main as extractor_main
from moviegpt.data.extraction import clean_text, degenerate_reason
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
    assert found[0] == ("Avatar", clean_text(good[0]["description"]))
    summary = capsys.readouterr().out
    assert f"rows read {len(rows)}" in summary and f"written {len(found)}" in summary
    empty = sum(1 for r in rows if not r["description"].strip())
    placeholder = sum(1 for r in rows if r["description"].strip() == "No description found")
    assert f"{empty} no description" in summary and f"{placeholder} placeholder description" in summary
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
        ("Quoted, Title", 'Line one. Line "two".'),  # paragraph breaks become spaces: a record is three lines
        ("Café Society", "Un café à Paris."),
    ]
    summary = capsys.readouterr().out
    assert "rows read 9, written 2, skipped 7" in summary
    for reason in (
        "1 longer than --max-chars",
        "1 no title",
        "1 no description",
        "1 placeholder description",
        "1 duplicate",
        "1 malformed row",
        "1 invalid UTF-8",
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
    cleaned = [(clean_text(t), clean_text(d)) for t, d in theirs]  # the reference predates one-line records
    expected = [(t, d) for t, d in cleaned if degenerate_reason(d, 2000) is None]
    assert ours == list(dict.fromkeys(expected))  # same records, ours without exact duplicates


def test_degenerate_descriptions_are_dropped_and_counted_and_entities_unescaped(tmp_path, capsys):
    repeated = "A man walks into a bar. " * 150  # one sentence to 3,600 characters
    placeholder_run = "No description found " * 200
    looping = ("Two friends open a diner by the sea and argue about pie. " * 30).strip()
    long = "Every sentence here is different, number " + " and ".join(map(str, range(900)))  # 6,900 characters
    body = (
        f'1,Loop,2001,,"{repeated}",90,3\n'
        f'2,Placeholders,2002,,"{placeholder_run}",90,3\n'
        f'3,Diner,2003,,"{looping}",90,3\n'
        '4,Tom &amp; Jerry,2004,,"Cat &amp; mouse &quot;fight&quot;.\n\nThen they make up.",90,3\n'
        f'5,Long,2005,,"{long}",90,3\n'
    )
    code, text, _ = extract(tmp_path, (HEADER + body).encode(), "--max-chars", "5000")
    assert code == 0
    assert records(text) == [("Tom & Jerry", 'Cat & mouse "fight". Then they make up.')]
    summary = capsys.readouterr().out
    assert "3 mostly repetition" in summary and "1 longer than --max-chars" in summary


@pytest.mark.parametrize("kind", ["binary", "folder"])
def test_a_binary_file_or_a_folder_is_named_as_such(tmp_path, capsys, kind):
    source = tmp_path / "movies.csv"
    if kind == "binary":
        source.write_bytes(b"PK\x03\x04\x00\x00name,description\x00\x01\x02")
    else:
        source.mkdir()
    assert extractor_main(["--input", str(source), "--output", str(tmp_path / "o.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "\x00" not in err
    assert ("binary file (it contains NUL bytes)" if kind == "binary" else "is a folder, not a file") in err
    assert not (tmp_path / "o.txt").exists()


HEADER = "id,name,date,tagline,description,minute,rating\n"


def test_extractor_never_destroys_its_input_or_writes_one_file_over_another(tmp_path, capsys):
    source = tmp_path / "movies.csv"
    source.write_text(HEADER + "1,Heat,1995,,A heist goes wrong.,170,4\n", encoding="utf-8")
    before = source.read_bytes()
    assert extractor_main(["--input", str(source), "--output", str(source)]) == 2
    assert "is the input CSV itself" in capsys.readouterr().err and source.read_bytes() == before
    out = tmp_path / "o.txt"
    assert (
        extractor_main(["--input", str(source), "--output", str(out), "--small", "1", "--small-output", str(out)]) == 2
    )
    assert "--small-output" in capsys.readouterr().err and not out.exists()


def test_latin1_header_only_and_filtered_catalogues(tmp_path, capsys):
    latin = HEADER + "1,Amélie,2001,,Une serveuse à Montmartre change la vie des autres.,122,4\n"
    code, out, _ = extract(tmp_path, latin.encode("latin-1"))
    assert code == 2 and "--encoding latin-1" in capsys.readouterr().err and not (tmp_path / "out.txt").exists()
    code, out, _ = extract(tmp_path, latin.encode("latin-1"), "--encoding", "latin-1")
    assert code == 0 and records(out) == [("Amélie", "Une serveuse à Montmartre change la vie des autres.")]
    (tmp_path / "out.txt").unlink()
    code, _, _ = extract(tmp_path, HEADER.encode())
    assert code == 2 and "has a header but no rows; nothing was written" in capsys.readouterr().err
    netflix = "show_id,type,title,description\n1,Movie,Heat,A heist.\n2,TV Show,Dark,A town.\n"
    code, out, _ = extract(tmp_path, netflix.encode(), "--title-column", "title", "--where", "type=Movie")
    assert code == 0 and records(out) == [("Heat", "A heist.")]
    code, _, _ = extract(tmp_path, netflix.encode(), "--title-column", "title", "--where", "kind=Movie")
    err = capsys.readouterr().err
    assert code == 2 and "--where: " in err and "no column 'kind'" in err


def test_a_broken_template_is_a_one_line_error(tmp_path, capsys):
    code, _, _ = extract(tmp_path, b"review,sentiment\ngood,1\n", "--template", "{review")
    err = capsys.readouterr().err
    assert code == 2 and "is not a valid template" in err and err.count("\n") == 1
