"""Word and byte-level BPE tokenizers next to characters: round trips, caches, streaming, stops, evaluation."""

import json

import numpy as np
import pytest
import torch

from moviegpt.checkpoint import load_checkpoint, model_from_checkpoint
from moviegpt.cli.main import main
from moviegpt.data import token_cache
from moviegpt.evaluation import evaluate_text
from moviegpt.generation.generate import RowText, Stopper
from moviegpt.model import GPT, GPTConfig
from moviegpt.tokenizer.factory import (
    TokenizerSpec,
    tokenizer_from_dict,
    train_tokenizer,
)
from tests.helpers import TINY_TEXT

TEXTS = {
    "english": "The description of the movie named 'Heat' is:\nA thief plans one last job.\nEND_OF_MOVIE\n",
    "accented": "Amélie, naïve café owner in Montréal, Œuvre über Ångström — «crème brûlée»!\n",
    "chinese": "这部电影很好看，我很喜欢。演员的表演非常出色！\n难看，浪费时间。\n",
}
ALL_TEXT = "".join(TEXTS.values())


@pytest.fixture(scope="module", params=["char", "word", "bpe"])
def tokenizer(request):
    spec = TokenizerSpec(request.param, vocab_size=300, min_freq=1)
    return train_tokenizer(spec, [ALL_TEXT * 3])


@pytest.mark.parametrize("name", list(TEXTS))
def test_every_tokenizer_round_trips_exactly(tokenizer, name):
    ids = tokenizer.encode(TEXTS[name])
    assert tokenizer.decode(ids) == TEXTS[name]
    restored = tokenizer_from_dict(json.loads(json.dumps(tokenizer.to_dict())))  # plain data
    assert restored.encode(TEXTS[name]) == ids
    assert np.array_equal(tokenizer.encode_array(TEXTS[name]), np.array(ids))


def test_bpe_round_trips_text_it_never_saw():
    bpe = train_tokenizer(TokenizerSpec("bpe", vocab_size=300), [TEXTS["english"] * 5])
    unseen = "日本語のテキスト, emoji 🎬, tabs\tand\r\nCRLF"
    assert bpe.decode(bpe.encode(unseen)) == unseen


def test_streaming_never_prints_a_broken_character(tokenizer):
    row = RowText(tokenizer, Stopper(tokenizer, []))
    pieces = [row.push(token) for token in tokenizer.encode(TEXTS["chinese"] + TEXTS["accented"])]
    pieces.append(row.finish())
    assert "".join(pieces) == TEXTS["chinese"] + TEXTS["accented"]
    assert not any("\ufffd" in piece for piece in pieces)


def test_single_byte_bpe_tokens_wait_for_the_whole_character():
    bytes_only = train_tokenizer(TokenizerSpec("bpe", vocab_size=257), [TEXTS["english"]])
    ids = bytes_only.encode("电影")
    assert len(ids) == 6  # three bytes per character, one token per byte
    row = RowText(bytes_only, Stopper(bytes_only, []))
    assert [row.push(t) for t in ids] == ["", "", "电", "", "", "影"]


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_stop_string_spanning_tokens_is_cut(kind):
    tok = train_tokenizer(TokenizerSpec(kind, vocab_size=400, min_freq=1), [TINY_TEXT])
    ids = tok.encode("A dragon opens a tea house.\nEND_OF_MOVIE\nThe description")
    stopper = Stopper(tok, ["END_OF_MOVIE"])
    row = RowText(tok, stopper)
    shown = ""
    for i, token in enumerate(ids):
        shown += row.push(token)
        if row.stopped:
            assert stopper.is_done(ids[: i + 1])
            break
    assert row.stopped and shown + row.finish() == "A dragon opens a tea house.\n"


def test_unknown_word_becomes_unk_and_is_counted():
    word = train_tokenizer(TokenizerSpec("word", min_freq=2), [TINY_TEXT])
    ids = word.encode("The dragon xylophone")
    assert word.decode(ids) == "The dragon <unk>" and ids[-1] == 0
    model = GPT(
        GPTConfig(vocab_size=word.vocab_size, context_length=8, n_embd=16, n_head=2, n_layer=1, dropout=0.0)
    ).eval()
    result = evaluate_text(model, word, "The dragon xylophone zebra", stride=4, device=torch.device("cpu"))
    assert result.unknown == 2 and result.characters == len("The dragon <unk> <unk>") - len("The")


def test_bits_per_character_use_characters_not_tokens():
    bpe = train_tokenizer(TokenizerSpec("bpe", vocab_size=400), [TINY_TEXT])
    model = GPT(
        GPTConfig(vocab_size=bpe.vocab_size, context_length=16, n_embd=16, n_head=2, n_layer=1, dropout=0.0)
    ).eval()
    text = TINY_TEXT[:400]
    result = evaluate_text(model, bpe, text, stride=8, device=torch.device("cpu"))
    first = bpe.decode(bpe.encode(text)[:1])
    assert result.characters == len(text) - len(first) and result.tokens < result.characters
    assert result.bits_per_character == pytest.approx(result.loss * result.tokens / result.characters / np.log(2))


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_token_cache_encodes_in_chunks_exactly_as_the_whole_text(tmp_path, monkeypatch, kind):
    path = tmp_path / "corpus.txt"
    path.write_text(ALL_TEXT * 50, encoding="utf-8")
    monkeypatch.setattr(
        token_cache,
        "iter_text_chunks",
        lambda p, **kw: ((ALL_TEXT * 50)[i : i + 37] for i in range(0, len(ALL_TEXT) * 50, 37)),
    )
    corpus = token_cache.encode_corpus([path], tmp_path / "cache", TokenizerSpec(kind, vocab_size=300, min_freq=1))
    assert np.array_equal(np.asarray(corpus.tokens), corpus.tokenizer.encode_array(ALL_TEXT * 50))
    assert corpus.tokens.dtype == (np.uint8 if corpus.tokenizer.vocab_size <= 256 else np.uint16)
    again = token_cache.encode_corpus([path], tmp_path / "cache", TokenizerSpec(kind, vocab_size=300, min_freq=1))
    assert again.reused and again.tokenizer.to_dict() == corpus.tokenizer.to_dict()
    other = token_cache.encode_corpus([path], tmp_path / "cache", TokenizerSpec("char"))
    assert not other.reused  # each tokenizer has its own cache


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_a_checkpoint_of_each_tokenizer_trains_generates_and_evaluates(tmp_path, monkeypatch, capsys, kind):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "movies.txt").write_text(TINY_TEXT * 3, encoding="utf-8")
    assert (
        main(
            [
                "--training_data",
                "movies.txt",
                "--tokenizer",
                kind,
                "--vocab_size",
                "300",
                "--preset",
                "tiny",
                "--max_iters",
                "5",
                "--wandb",
                "disabled",
                "--out_dir",
                "run",
                "--prompt",
                "",
                "--max_new_tokens",
                "10",
                "--disable-typewriter",
            ]
        )
        == 0
    )
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    model, tokenizer = model_from_checkpoint(state)
    assert tokenizer.kind == kind and state.record_format is not None  # END_OF_MOVIE found in the tokens
    assert (
        main(
            [
                "--checkpoint",
                "run/last.pt",
                "--title",
                "Tea for the Dragon",
                "--max_new_tokens",
                "10",
                "--disable-typewriter",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["--checkpoint", "run/last.pt", "--evaluate", "movies.txt", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["characters"] == len(TINY_TEXT * 3) - len(tokenizer.decode(tokenizer.encode(TINY_TEXT)[:1]))
    assert report["tokens"] < report["characters"]
    assert (
        main(
            ["--compare", "run/last.pt", "--max_iters", "3", "--out_dir", "bigram", "--json", "--wandb", "disabled"],
            model="bigram",
        )
        == 0
    )  # the bigram reads the text with the GPT's tokenizer
    table = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert table["bigram"]["parameters"] == tokenizer.vocab_size**2
