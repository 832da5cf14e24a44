import re
import subprocess

import pytest

from tests.helpers import ROOT, gpt_command

HANDWRITTEN = ROOT / "dataset" / "sample_movie_descriptions.txt"
SIMPLE = ROOT / "dataset" / "simple_movies.txt"
RECORD = re.compile(r"The description of the movie named '(.+)' is:\n([^\n]+)\nEND_OF_MOVIE\n")


def records(path):
    """The (title, plot) pairs of a shipped file."""
    return RECORD.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [HANDWRITTEN, SIMPLE], ids=["handwritten", "simple"])
def test_shipped_text_is_in_the_training_format_with_unique_titles(path):
    pairs = records(path)
    assert len(pairs) >= 200
    text = "".join(f"The description of the movie named '{t}' is:\n{d}\nEND_OF_MOVIE\n" for t, d in pairs)
    assert text == path.read_text(encoding="utf-8")
    titles = [t for t, _ in pairs]
    assert len(set(titles)) == len(titles)


def test_simple_movies_are_what_the_generator_writes(tmp_path):
    out = tmp_path / "simple.txt"
    subprocess.run(gpt_command("--output", str(out), script="dataset/make_simple_movies.py"), check=True)
    assert out.read_bytes() == SIMPLE.read_bytes()
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left beside it


@pytest.mark.parametrize("count", ["0", "100000"])
def test_generator_refuses_a_count_it_cannot_write_in_one_line(tmp_path, count):
    out = tmp_path / "simple.txt"
    result = subprocess.run(
        gpt_command("--count", count, "--output", str(out), script="dataset/make_simple_movies.py"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --count must be between 1 and 5000") and result.stderr.count("\n") == 1
    assert not out.exists()


def test_simple_movies_plots_use_the_titles_words_one_name_and_they():
    for title, plot in records(SIMPLE):
        words = set(re.findall(r"[a-z]+", plot.lower()))
        assert set(title.lower().split()) - {"the", "a", "and", "of", "last", "who", "loved"} <= words, (title, plot)
        assert len(set(re.findall(r"named (\w+)", plot))) <= 1, plot
        assert not {"he", "his", "him", "she", "her"} & words, plot
