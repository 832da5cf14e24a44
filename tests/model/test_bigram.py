"""The bigram baseline, exact evaluation (--evaluate), the comparison table and loss.png."""

import json
import math
import struct

import pytest
import torch
from torch.nn import functional as F

from moviegpt.bigram import BigramConfig, BigramLanguageModel
from moviegpt.checkpoint import load_checkpoint, model_from_checkpoint
from moviegpt.cli.arguments import parse_settings
from moviegpt.cli.main import main
from moviegpt.data.dataset import TextDataset
from moviegpt.evaluation import evaluate_text
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.search import generate_ids
from moviegpt.likelihood import scoring_windows
from moviegpt.model import GPT, GPTConfig
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.training.tracking import RunLogger
from moviegpt.training.trainer import TrainConfig, Trainer
from tests.helpers import TINY_TEXT

QUIET = ["--wandb", "disabled", "--prompt", "", "--max_new_tokens", "20", "--disable-typewriter"]


def test_bigram_learns_and_greedy_decoding_follows_its_table(tmp_path):
    tokenizer = CharTokenizer(TINY_TEXT)
    torch.manual_seed(0)
    model = BigramLanguageModel(BigramConfig(vocab_size=tokenizer.vocab_size, context_length=8))
    trainer = Trainer(
        model,
        TextDataset.from_tokens(tokenizer.encode_array(TINY_TEXT * 4), tokenizer),
        TrainConfig(batch_size=32, lr=1e-1, epochs=1, max_iters=150, eval_iters=5, eval_interval=50),
        torch.device("cpu"),
        torch.float32,
        RunLogger(tmp_path, "disabled", "t", {}),
    )
    first = trainer.evaluate()["val"]
    result = trainer.train()
    assert result.val_loss < first - 1.0  # from ln(vocab) ~ 3.6 to about 2
    prompt = tokenizer.encode("The ")
    (ids,) = generate_ids(model, prompt, GenerationConfig(decode="greedy", max_new_tokens=12))
    table = model.table.weight
    for previous, token in zip(prompt[-1:] + ids, ids):
        assert token == int(table[previous].argmax())


def direct_mean_loss(model, ids: list[int]) -> float:
    """Each character scored from scratch with up to context_length characters before it."""
    context, losses = model.config.context_length, []
    for t in range(1, len(ids)):
        window = torch.tensor([ids[max(0, t - context) : t]])
        logits = model(window)[0][0, -1]
        losses.append(F.cross_entropy(logits[None], torch.tensor([ids[t]])).item())
    return sum(losses) / len(losses)


@pytest.mark.parametrize("kind", ["gpt", "bigram"])
def test_evaluate_with_stride_1_equals_the_mean_of_direct_per_character_losses(kind):
    tokenizer = CharTokenizer(TINY_TEXT)
    torch.manual_seed(1)
    model = (
        GPT(GPTConfig(vocab_size=tokenizer.vocab_size, context_length=16, n_embd=32, n_head=2, n_layer=2, dropout=0.0))
        if kind == "gpt"
        else BigramLanguageModel(BigramConfig(vocab_size=tokenizer.vocab_size))
    ).eval()
    text = TINY_TEXT[:300]
    result = evaluate_text(model, tokenizer, text, stride=1, device=torch.device("cpu"))
    assert result.characters == result.tokens == len(text) - 1 and result.unknown == 0
    assert result.loss == pytest.approx(direct_mean_loss(model, tokenizer.encode(text)), rel=1e-5)
    assert result.bits_per_character == pytest.approx(result.loss / math.log(2))
    wider = evaluate_text(model, tokenizer, text, stride=8, device=torch.device("cpu"))
    assert wider.tokens == result.tokens  # every character is scored once, whatever the stride


@pytest.mark.parametrize("length, context, stride", [(2, 4, 1), (10, 4, 1), (10, 4, 3), (100, 16, 8), (17, 16, 16)])
def test_every_character_is_scored_exactly_once(length, context, stride):
    scored = []
    for begin, end, first in scoring_windows(length, context, stride):
        assert end - begin <= context and begin <= first < end
        if begin > 0:
            assert first - begin >= context - stride  # enough context for every scored position
        scored.extend(range(first, end))
    assert scored == list(range(length - 1))


def test_evaluate_from_the_command_line_counts_unknown_characters(tmp_path, monkeypatch, capsys, tiny_checkpoint):
    monkeypatch.chdir(tmp_path)
    text = "The description of the movie named 'Zebra' is:\n"
    (tmp_path / "eval.txt").write_text(text, encoding="utf-8")
    assert main(["--checkpoint", str(tiny_checkpoint), "--evaluate", "eval.txt", "--eval_stride", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["unknown"] == 1 and report["characters"] == len(text) - 2  # 'Z' left out
    model, tokenizer = model_from_checkpoint(load_checkpoint(tiny_checkpoint))
    expected = direct_mean_loss(model.eval(), tokenizer.encode(text.replace("Z", "")))
    assert report["loss"] == pytest.approx(expected, rel=1e-5)
    assert report["perplexity"] == pytest.approx(math.exp(expected), rel=1e-5)


def test_simple_bigram_trains_generates_and_compares_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "movies.txt").write_text(TINY_TEXT * 4, encoding="utf-8")
    assert (
        main(["--training_data", "movies.txt", "--preset", "tiny", "--max_iters", "30", "--out_dir", "gpt", *QUIET])
        == 0
    )
    assert (
        main(["--training_data", "movies.txt", "--max_iters", "60", "--out_dir", "bigram", *QUIET], model="bigram") == 0
    )
    state = load_checkpoint(tmp_path / "bigram" / "last.pt")
    assert state.model_config["kind"] == "bigram" and state.train_args["model"] == "bigram"
    capsys.readouterr()
    assert main(["--compare", "gpt/last.pt", "--checkpoint", "bigram/last.pt"], model="bigram") == 0
    table = capsys.readouterr().out
    assert "| bigram | " in table and "| GPT | " in table
    assert (
        main(
            [
                "--compare",
                "gpt/last.pt",
                "--max_iters",
                "20",
                "--out_dir",
                "trained_now",
                "--json",
                "--wandb",
                "disabled",
            ],
            model="bigram",
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    vocab = len(set(TINY_TEXT))
    assert set(report) == {"bigram", "GPT"} and report["bigram"]["parameters"] == vocab * vocab
    assert (tmp_path / "trained_now" / "last.pt").exists()


def test_bigram_command_line_has_its_own_defaults_and_no_transformer_sizes(capsys):
    settings = parse_settings(["--training_data", "x.txt"], kind="bigram")
    assert (settings.train.batch_size, settings.model.context_length, settings.train.lr) == (32, 8, 1e-2)
    assert settings.kind == "bigram" and settings.model.kind == "bigram"
    with pytest.raises(SystemExit):
        parse_settings(["--n_embd", "64"], kind="bigram")
    assert "unrecognized arguments: --n_embd" in capsys.readouterr().err


def test_every_run_draws_loss_png(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    assert (
        main(
            ["--training_data", "movies.txt", "--max_iters", "20", "--eval_interval", "10", "--out_dir", "run", *QUIET],
            model="bigram",
        )
        == 0
    )
    png = (tmp_path / "run" / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (770, 462)


def test_evaluate_is_exact_in_float32_by_default_and_says_its_dtype(tmp_path, monkeypatch, capsys, tiny_checkpoint):
    """--evaluate calls itself exact: its weights are float32 unless --dtype says otherwise (on CUDA the inference
    default is bfloat16), and the report names the dtype."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eval.txt").write_text("The description of the movie named 'Tea' is:\n", encoding="utf-8")
    monkeypatch.setattr("moviegpt.cli.loading.resolve_inference_dtype", lambda name, device: torch.bfloat16)
    assert main(["--checkpoint", str(tiny_checkpoint), "--evaluate", "eval.txt", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["dtype"] == "float32"
    assert main(["--checkpoint", str(tiny_checkpoint), "--evaluate", "eval.txt", "--dtype", "bfloat16"]) == 0
    assert "(weights in bfloat16)" in capsys.readouterr().out
