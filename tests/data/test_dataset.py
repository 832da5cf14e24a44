import pytest
import torch

from moviegpt.data.dataset import TextDataset
from moviegpt.data.textfile import read_text
from moviegpt.errors import UserError
from moviegpt.tokenizer.char import CharTokenizer


def test_read_text_normalises_bom_and_crlf(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfline one\r\nline two\r\n")
    assert read_text(path) == "line one\nline two\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("café".encode("latin-1"), "not UTF-8"),
    ],
)
def test_read_text_refuses_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_text(path)


def test_read_text_refuses_directory(tmp_path):
    with pytest.raises(UserError, match="directory"):
        read_text(tmp_path)


def test_split_is_first_90_percent_then_last_10():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    tok = CharTokenizer(text)
    data = TextDataset.from_tokens(tok.encode_array(text), tok)
    assert tok.decode(data.splits["train"]) == text[:900]
    assert tok.decode(data.splits["val"]) == text[900:]


def test_steps_per_epoch_is_at_least_one():
    tok = CharTokenizer("abcdefghij")
    data = TextDataset.from_tokens(tok.encode_array("abcdefghij" * 10), tok)
    assert data.steps_per_epoch(batch_size=128, context_length=256) == 1
    assert data.steps_per_epoch(batch_size=2, context_length=10) == 4


def test_too_short_for_the_context_is_refused():
    tok = CharTokenizer("abc")
    data = TextDataset.from_tokens(tok.encode_array("abc" * 30), tok)
    with pytest.raises(UserError, match="too short"):
        data.check_fits(context_length=16)
    data.check_fits(context_length=8)


def test_batches_are_shifted_windows_of_the_split():
    text = "".join(chr(ord("a") + i % 26) for i in range(2000))
    tok = CharTokenizer(text)
    data = TextDataset.from_tokens(tok.encode_array(text), tok)
    x, y = data.get_batch("train", 4, 16, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 16) and x.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])
    for row in x:
        assert tok.decode(row.tolist()) in text[:1800]
