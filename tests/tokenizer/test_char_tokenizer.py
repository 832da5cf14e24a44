import numpy as np
import pytest

from moviegpt.errors import UserError
from moviegpt.tokenizer.char import CharTokenizer


@pytest.mark.parametrize(
    "text",
    [
        "The description of the movie named 'Amélie' is:\nA shy waitress…\nEND_OF_MOVIE\n",
        "这部电影真好看！演员的表演很自然。",
        "naïve café — ☕ 🎬 mixed ASCII and emoji",
    ],
)
def test_round_trip(text):
    tok = CharTokenizer(text)
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode(tok.encode_array(text)) == text


def test_ids_are_sorted_and_stable():
    a = CharTokenizer("cab")
    b = CharTokenizer("bca")
    assert a.chars == ["a", "b", "c"] == b.chars
    assert a.encode("abc") == [0, 1, 2]


def test_encode_array_matches_encode_and_is_compact():
    text = "hello, 世界! " * 50
    tok = CharTokenizer(text)
    ids = tok.encode_array(text)
    assert ids.dtype == np.uint8
    assert ids.tolist() == tok.encode(text)


def test_dtype_grows_with_vocabulary():
    assert CharTokenizer(chr(i) for i in range(32, 32 + 256)).token_dtype == np.uint8
    assert CharTokenizer(chr(i) for i in range(32, 32 + 257)).token_dtype == np.uint16


@pytest.mark.parametrize("encode", ["encode", "encode_array"])
def test_unknown_character_is_named(encode):
    tok = CharTokenizer("abc")
    with pytest.raises(UserError, match="'z'"):
        getattr(tok, encode)("abz")


def test_dict_round_trip():
    tok = CharTokenizer("héllo 世界")
    again = CharTokenizer.from_dict(tok.to_dict())
    assert again.chars == tok.chars
