"""Streaming vocabulary + encoding into a cached token file, reused when fresh, rebuilt when changed."""

import os

import numpy as np
import pytest

from moviegpt.data import token_cache
from moviegpt.data.dataset import TextDataset
from moviegpt.data.textfile import iter_text_chunks
from moviegpt.data.token_cache import encode_corpus
from moviegpt.errors import UserError
from moviegpt.tokenizer.char import CharTokenizer

TEXT = "The description of the movie named 'Été' is:\nUn été à Paris, 东京.\nEND_OF_MOVIE\n" * 30


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_tokens_match_the_in_memory_encoding(tmp_path):
    corpus = encode_corpus([write(tmp_path / "a.txt", TEXT)], tmp_path / "cache")
    assert isinstance(corpus.tokens, np.memmap) and corpus.tokens.dtype == np.uint8
    expected = CharTokenizer(TEXT)
    assert corpus.tokenizer.chars == expected.chars
    assert np.array_equal(corpus.tokens, expected.encode_array(TEXT))
    assert corpus.cache_path.exists() and corpus.cache_path.with_suffix(".json").exists()
    assert not corpus.reused


def test_second_run_reuses_the_cache_without_reading_the_text(tmp_path, monkeypatch):
    path = write(tmp_path / "a.txt", TEXT)
    first = encode_corpus([path], tmp_path / "cache")
    monkeypatch.setattr(token_cache, "build_vocabulary", lambda files: pytest.fail("cache was not reused"))
    second = encode_corpus([path], tmp_path / "cache")
    assert second.reused and np.array_equal(first.tokens, second.tokens)


def test_changed_file_rebuilds_the_cache(tmp_path):
    path = write(tmp_path / "a.txt", TEXT)
    encode_corpus([path], tmp_path / "cache")
    write(path, TEXT + "Zzz new text\n")
    os.utime(path, ns=(1, 1))  # even with an old mtime, the size and tail hash change
    again = encode_corpus([path], tmp_path / "cache")
    assert not again.reused and len(again.tokens) == len(TEXT) + len("Zzz new text\n")
    assert "Z" in again.tokenizer.chars


def test_same_size_edit_in_the_middle_with_same_mtime_is_caught_by_mtime(tmp_path):
    path = write(tmp_path / "a.txt", "a" * 5000)
    encode_corpus([path], tmp_path / "cache")
    stat = path.stat()
    write(path, "a" * 2500 + "b" + "a" * 2499)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert not encode_corpus([path], tmp_path / "cache").reused


def test_damaged_cache_is_rebuilt(tmp_path):
    path = write(tmp_path / "a.txt", TEXT)
    corpus = encode_corpus([path], tmp_path / "cache")
    corpus.cache_path.write_bytes(b"\x00" * 10)
    again = encode_corpus([path], tmp_path / "cache")
    assert not again.reused and np.array_equal(again.tokens, CharTokenizer(TEXT).encode_array(TEXT))


def test_several_files_are_joined_with_newlines(tmp_path):
    a, b = write(tmp_path / "a.txt", "first file"), write(tmp_path / "b.txt", "second file\n")
    corpus = encode_corpus([a, b], tmp_path / "cache")
    assert corpus.tokenizer.decode(corpus.tokens) == "first file\nsecond file\n"


def test_large_vocabulary_uses_uint16(tmp_path):
    text = "".join(chr(0x4E00 + i) for i in range(400)) * 3
    corpus = encode_corpus([write(tmp_path / "zh.txt", text)], tmp_path / "cache")
    assert corpus.tokens.dtype == np.uint16 and corpus.tokenizer.decode(corpus.tokens) == text


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_chunked_reading_is_exact_across_boundaries(tmp_path, chunk):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffab\r\ncé\r\n世界\r".encode() + b"\r\nend")
    assert "".join(iter_text_chunks(path, chunk)) == "ab\ncé\n世界\r\nend"


@pytest.mark.parametrize("data, offset", [(b"abcdef\xe9ghi", 6), (b"\xff", 0), (b"abc\xe4\xb8", 3)])
@pytest.mark.parametrize("chunk", [1, 2, 100])
def test_invalid_utf8_is_reported_with_its_offset(tmp_path, data, offset, chunk):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(UserError, match=f"not UTF-8 text.*offset {offset}\\)"):
        "".join(iter_text_chunks(path, chunk))


def test_movie_split_moves_to_the_nearest_record_end(tmp_path):
    records = [
        f"The description of the movie named 'M{i}' is:\nPlot {'x' * (i % 17)}.\nEND_OF_MOVIE\n" for i in range(100)
    ]
    text = "".join(records)
    tok = CharTokenizer(text)
    data = TextDataset.from_tokens(tok.encode_array(text), tok)
    train, val = tok.decode(data.splits["train"]), tok.decode(data.splits["val"])
    assert train + val == text
    assert train.endswith("END_OF_MOVIE\n") and val.startswith("The description of the movie named")
    assert abs(len(train) - 0.9 * len(text)) < max(len(r) for r in records)


def test_plain_text_split_is_exactly_90_percent():
    text = "plain text without records. " * 40
    tok = CharTokenizer(text)
    data = TextDataset.from_tokens(tok.encode_array(text), tok)
    assert len(data.splits["train"]) == int(len(text) * 0.9)
