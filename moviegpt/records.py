"""The movie-record format: one record is a title line, the plot on one line, and END_OF_MOVIE.

    The description of the movie named '<Title>' is:
    <plot>
    END_OF_MOVIE

Here are its template (RecordFormat, stored in checkpoints of models trained on it), its writer and its reader.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass


@dataclass
class RecordFormat:
    """How one record of the training text looks; stored in checkpoints trained on movie-format text."""

    prefix: str = "The description of the movie named '"
    suffix: str = "' is:\n"
    end: str = "END_OF_MOVIE"

    def title_prompt(self, title: str) -> str:
        return f"{self.prefix}{title}{self.suffix}"

    def without_title(self, prompt: str) -> str | None:
        """The prompt with the title of the record it starts left out (what guidance compares against); None when
        it does not start with a whole title line."""
        if not prompt.startswith(self.prefix) or self.suffix not in prompt[len(self.prefix) :]:
            return None
        return self.prefix + prompt[prompt.index(self.suffix, len(self.prefix)) :]

    def to_dict(self) -> dict:
        return asdict(self)


RECORD_END = RecordFormat().end + "\n"


@dataclass
class Movie:
    title: str
    description: str


TITLE_STOPWORDS = frozenset({"the", "and", "of", "a", "an", "in", "to", "for", "with", "on", "at", "is", "my", "your"})


def title_words(title: str) -> set[str]:
    """The content words of a title in lower case (three letters or more, not a stop word): what a plot that
    uses its title repeats."""
    return {w.lower() for w in re.findall(r"[A-Za-z]{3,}", title)} - TITLE_STOPWORDS


STOP_TITLES = frozenset({"The", "When", "After", "But", "His", "Her", "They", "She", "He", "In", "As", "It"})
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2}\b")  # a name or a place in a sentence


def plot_phrases(plot: str) -> list[str]:
    """Short phrases of a plot that could be its title: runs of one to three capitalised words inside a sentence
    (a name, a place), each once, in order of appearance."""
    return list(dict.fromkeys(m.group() for m in NAME.finditer(plot) if m.group() not in STOP_TITLES))


def format_record(title: str, text: str, record_end: str = RecordFormat().end) -> str:
    """One record of the training text (the writer)."""
    return f"{RecordFormat().title_prompt(title)}{text}\n{record_end}\n"


def parse_movies(text: str, record_format: RecordFormat | None = None) -> list[Movie]:
    """Every `The description of the movie named '<title>' is:` record in text, up to END_OF_MOVIE (the reader)."""
    fmt = record_format or RecordFormat()
    pattern = re.compile(
        re.escape(fmt.prefix)
        + r"(.*?)"
        + re.escape(fmt.suffix)
        + r"(.*?)(?:"
        + re.escape(fmt.end)
        + r"|(?="
        + re.escape(fmt.prefix)
        + r")|\Z)",
        re.S,
    )
    return [Movie(m.group(1).strip(), m.group(2).strip()) for m in pattern.finditer(text) if m.group(1).strip()]
