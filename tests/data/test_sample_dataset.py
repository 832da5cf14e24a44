import re

from tests.helpers import ROOT

SAMPLE = ROOT / "dataset" / "sample_movie_descriptions.txt"
RECORD = re.compile(r"The description of the movie named '(.+)' is:\n([^\n]+)\nEND_OF_MOVIE\n")


def test_sample_is_in_the_training_format_with_at_least_200_movies():
    text = SAMPLE.read_text(encoding="utf-8")
    records = RECORD.findall(text)
    assert len(records) >= 200
    assert "".join(f"The description of the movie named '{t}' is:\n{d}\nEND_OF_MOVIE\n" for t, d in records) == text
    titles = [t for t, _ in records]
    assert len(set(titles)) == len(titles)
