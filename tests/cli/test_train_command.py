"""The command line end to end: training, generating, presets, and one-line errors with exit code 2."""

import json
import os
import re
import signal
import time

import pytest
import torch

from moviegpt.checkpoint import load_checkpoint
from moviegpt.cli.arguments import build_parser, parse_settings
from moviegpt.cli.main import main
from moviegpt.cli.settings import resumed
from moviegpt.cli.train import launcher
from moviegpt.training.trainer import Trainer
from tests.helpers import QUIET, ROOT, TINY_TEXT, generated, run_gpt, start_gpt

TRAIN = ["--preset", "tiny", "--wandb", "disabled", "--max_new_tokens", "20"]


@pytest.mark.slow
def test_train_then_generate_end_to_end(tmp_path, tiny_text_file):
    result = run_gpt(
        "--training_data", str(tiny_text_file), *TRAIN, "--out_dir", "run", "--prompt", "The description", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "run").glob("*.pt")) == [
        "best.pt",
        "epoch_001.pt",
        "epoch_002.pt",
        "last.pt",
    ]
    events = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert events[-1]["epoch"] == 2 and "val_loss" in events[-1]
    (after_training,) = (tmp_path / "outputs").glob("output_*.txt")
    assert generated(after_training).startswith("The description")
    assert "The description" in result.stdout

    checkpoint = tmp_path / "run" / "epoch_002.pt"
    outputs = []
    for _ in range(2):
        result = run_gpt("--checkpoint", str(checkpoint), "--prompt", "The ", "--max_new_tokens", "30", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.splitlines()[0])
    assert outputs[0] == outputs[1] and outputs[0].startswith("The ") and len(outputs[0]) > 4
    assert len(list((tmp_path / "outputs").glob("output_*.txt"))) == 3


def test_checkpoint_is_self_contained(tmp_path, tiny_checkpoint):
    state = torch.load(tiny_checkpoint, weights_only=True)
    assert {"model_config", "tokenizer", "model", "trainer", "train_args"} <= state.keys()
    assert {"optimizer", "epoch", "step", "rng"} <= state["trainer"].keys() and state["version"] == 2
    assert state["train_args"]["n_embd"] == 32 and state["train_args"]["training_data"][0].endswith("movies.txt")
    assert set(state["tokenizer"]["chars"]) == set(TINY_TEXT)


def test_generation_without_the_training_file(tmp_path, tiny_checkpoint):
    moved = tmp_path / "elsewhere.pt"
    moved.write_bytes(tiny_checkpoint.read_bytes())
    for f in tiny_checkpoint.parent.parent.glob("movies.txt"):
        f.unlink()
    result = run_gpt("--checkpoint", str(moved), "--prompt", "", "--no_stop", "--disable-typewriter", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (output,) = (tmp_path / "outputs").glob("output_*.txt")
    text = generated(output)
    prefix = "The description of the movie named '"  # an empty prompt starts a new record
    assert text.startswith(prefix) and len(text) == len(prefix) + 500  # the default --max_new_tokens
    assert f"saved to outputs/{output.name}" in result.stdout


def one_line_error(capsys, argv, cwd, monkeypatch) -> str:
    monkeypatch.chdir(cwd)
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize(
    "content, flags, message",
    [
        (None, [], "not found"),
        (b"", [], "empty"),
        (b"short text\n", [], "too short"),
        (b"\x00\x01\x02binary\x00" * 100, [], "binary"),
        ("Am\xe9lie ".encode("latin-1") * 100, [], "not UTF-8"),
        (TINY_TEXT.encode(), ["--n_embd", "30", "--n_head", "4"], "divisible"),
        (TINY_TEXT.encode(), ["--dropout", "1.5"], "dropout"),
        (TINY_TEXT.encode(), ["--batch_size", "0"], "--batch_size"),
        (TINY_TEXT.encode(), ["--lr", "abc"], "--lr"),
        (TINY_TEXT.encode(), ["--device", "tpu"], "--device"),
        (TINY_TEXT.encode(), ["--temperature", "0"], "--temperature"),
        (TINY_TEXT.encode(), ["--preset", "huge"], "--preset"),
    ],
)
def test_bad_training_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, content, flags, message):
    data = tmp_path / "data.txt"
    if content is not None:
        data.write_bytes(content)
    argv = ["--training_data", str(data), *TRAIN, "--out_dir", "run", *flags]
    assert message in one_line_error(capsys, argv, tmp_path, monkeypatch)
    assert not list(tmp_path.glob("run/*.pt"))


def test_truncated_and_foreign_checkpoints_are_refused(tmp_path, capsys, monkeypatch, tiny_checkpoint):
    data = tiny_checkpoint.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 3])
    (tmp_path / "notes.pt").write_text("these are my notes")
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    assert "truncated" in one_line_error(capsys, ["--checkpoint", "cut.pt"], tmp_path, monkeypatch)
    assert "checkpoint" in one_line_error(capsys, ["--checkpoint", "notes.pt"], tmp_path, monkeypatch)
    assert "another tool" in one_line_error(capsys, ["--checkpoint", "foreign.pt"], tmp_path, monkeypatch)
    assert "not found" in one_line_error(capsys, ["--checkpoint", "nothing.pt"], tmp_path, monkeypatch)
    assert "is a folder" in one_line_error(capsys, ["--checkpoint", str(tmp_path)], tmp_path, monkeypatch)


def test_unknown_prompt_character_is_named(tmp_path, capsys, monkeypatch, tiny_checkpoint):
    err = one_line_error(capsys, ["--checkpoint", str(tiny_checkpoint), "--prompt", "Zebra ☃"], tmp_path, monkeypatch)
    assert "'☃'" in err and "'Z'" in err
    assert not list((tmp_path / "outputs").glob("*"))  # no output file written


def test_existing_checkpoints_are_never_overwritten(tmp_path, capsys, monkeypatch, tiny_text_file):
    run = tmp_path / "run"
    run.mkdir()
    (run / "epoch_001.pt").write_bytes(b"precious")
    argv = ["--training_data", str(tiny_text_file), *TRAIN, "--out_dir", "run"]
    assert "already holds checkpoints" in one_line_error(capsys, argv, tmp_path, monkeypatch)
    assert (run / "epoch_001.pt").read_bytes() == b"precious"


def test_errors_from_a_subprocess_have_no_traceback(tmp_path):
    result = run_gpt("--training_data", "missing.txt", *TRAIN, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: training data not found: missing.txt"


def test_preset_fills_sizes_and_explicit_flags_win():
    fast = parse_settings(
        ["--preset", "fast", "--n_embd", "64", "--n_head", "2", "--no-qk_norm", "--schedule", "cosine"]
    )
    model, train = fast.model, fast.train
    assert (model.n_embd, model.n_head, model.n_layer, model.context_length, train.batch_size) == (64, 2, 3, 256, 8)
    assert (model.position, train.optimizer, model.qk_norm, train.schedule) == ("rope", "muon", False, "cosine")
    original = parse_settings([])
    assert (original.model.position, original.train.optimizer) == ("learned", "adamw")  # the old recipe
    model, train, generation = original.model, original.train, original.generation
    assert (train.batch_size, model.context_length, train.lr, model.n_embd, model.n_head, model.n_layer) == (
        128,
        256,
        2.5e-4,
        768,
        8,
        8,
    )
    assert (model.dropout, train.eval_iters, train.epochs) == (0.3, 100, 5)
    assert (generation.max_new_tokens, generation.seed, train.seed, generation.temperature, generation.top_k) == (
        500,
        7331,
        7331,
        1.0,
        None,
    )
    assert (train.logging_steps, original.runtime.device, original.command.checkpoint) == (50, "auto", None)
    assert original.command.typewriter is True
    assert parse_settings(["--disable-typewriter"]).command.typewriter is False
    assert [parse_settings(flags).train.compile for flags in ([], ["--compile"], ["--no-compile"])] == [
        None,
        True,
        False,
    ]


def test_help_explains_every_flag():
    parser = build_parser()
    for action in parser._actions:
        assert action.help, action.option_strings
    text = parser.format_help()
    for flag in [
        "--checkpoint",
        "--training_data",
        "--batch_size",
        "--context_length",
        "--eval_iters",
        "--lr",
        "--n_embd",
        "--n_head",
        "--n_layer",
        "--dropout",
        "--max_new_tokens",
        "--seed",
        "--device",
        "--temperature",
        "--top_k",
        "--logging_steps",
        "--epochs",
        "--disable-typewriter",
        "--max_iters",
        "--max_minutes",
        "--out_dir",
        "--prompt",
        "--preset",
        "--wandb",
    ]:
        assert re.search(rf"{flag}\b", text), flag


@pytest.mark.slow
def test_shipped_sample_is_used_when_no_data_is_given(tmp_path):
    result = run_gpt(
        "--preset",
        "tiny",
        "--max_iters",
        "2",
        "--wandb",
        "disabled",
        "--out_dir",
        "run",
        "--prompt",
        "The",
        "--max_new_tokens",
        "5",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "dataset/movie_descriptions.txt not found" in result.stdout
    state = torch.load(tmp_path / "run" / "epoch_001.pt", weights_only=True)
    assert state["train_args"]["training_data"] == [str(ROOT / "dataset" / "simple_movies.txt")]


@pytest.mark.slow
def test_wandb_offline_run_never_prompts(tmp_path, tiny_text_file):
    result = run_gpt(
        "--training_data",
        str(tiny_text_file),
        "--preset",
        "tiny",
        "--max_iters",
        "2",
        "--wandb",
        "offline",
        "--out_dir",
        "run",
        "--prompt",
        "",
        "--max_new_tokens",
        "3",
        cwd=tmp_path,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "run" / "wandb").glob("offline-run-*"))


def test_wandb_online_without_a_key_is_refused(tmp_path, capsys, monkeypatch, tiny_text_file):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))
    argv = ["--training_data", str(tiny_text_file), "--preset", "tiny", "--wandb", "online"]
    assert "API key" in one_line_error(capsys, argv, tmp_path, monkeypatch)


@pytest.mark.slow
def test_resume_a_run_folder_and_extend_it(tmp_path, tiny_text_file):
    base = [
        "--training_data",
        str(tiny_text_file),
        "--preset",
        "tiny",
        *QUIET,
    ]
    assert run_gpt(*base, "--out_dir", "run", "--max_iters", "3", cwd=tmp_path).returncode == 0
    result = run_gpt(
        "--resume",
        "run",
        "--max_iters",
        "6",
        *QUIET,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "resuming from run/epoch_001.pt (step 3, epoch 1)" in result.stdout
    state = torch.load(tmp_path / "run" / "epoch_001.pt", weights_only=True)
    assert state["trainer"]["step"] == 6 and state["train_args"]["n_embd"] == 32


@pytest.mark.slow
def test_resume_refuses_a_conflicting_size_and_skips_a_damaged_checkpoint(
    tmp_path, capsys, monkeypatch, tiny_text_file
):
    base = [
        "--training_data",
        str(tiny_text_file),
        "--preset",
        "tiny",
        *QUIET,
        "--out_dir",
        "run",
        "--keep_checkpoints",
        "0",
    ]
    assert run_gpt(*base, cwd=tmp_path).returncode == 0  # two epochs: epoch_001.pt, epoch_002.pt
    err = one_line_error(capsys, ["--resume", "run", "--n_embd", "64"], tmp_path, monkeypatch)
    assert "--n_embd 64 conflicts with the run being resumed (32)" in err
    (tmp_path / "run" / "epoch_002.pt").write_bytes(b"half a checkpoint")
    result = run_gpt("--resume", "run", "--epochs", "3", *QUIET, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipping a damaged checkpoint" in result.stdout and "resuming from run/epoch_001.pt" in result.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.slow
def test_signal_stops_after_a_step_with_a_checkpoint_and_the_resume_command(tmp_path, tiny_text_file, signum):
    proc = start_gpt(
        "--training_data",
        str(tiny_text_file),
        "--preset",
        "tiny",
        "--epochs",
        "100000",
        "--logging_steps",
        "1",
        "--wandb",
        "disabled",
        "--out_dir",
        "run",
        "--prompt",
        "",
        "--max_new_tokens",
        "3",
        cwd=tmp_path,
    )
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= 3):
        time.sleep(0.1)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; to go on: python gpt.py --resume run" in out and "interrupted" not in err  # said once
    checkpoint = sorted((tmp_path / "run").glob("epoch_*.pt"))[-1]
    state = torch.load(checkpoint, weights_only=True)
    events = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert state["trainer"]["step"] == events[-1]["step"] >= 3  # the last step taken is in the checkpoint


def test_a_run_from_before_the_recipe_options_resumes_with_the_old_recipe():
    settings = parse_settings(["--resume", "run", "--preset", "fast"])
    saved = {"model": "gpt", "training_data": ["movies.txt"], "n_embd": 256, "context_length": 64, "batch_size": 12}
    model_config = {"vocab_size": 40, "n_embd": 256, "context_length": 64}
    merged = resumed(settings, saved, model_config)
    assert (merged.train.optimizer, merged.model.position, merged.train.schedule, merged.model.tie_weights) == (
        "adamw",
        "learned",
        "cosine",
        True,
    )
    assert (merged.model.context_length, merged.train.batch_size, merged.model.n_embd) == (64, 12, 256)


@pytest.mark.parametrize("data", ["plain", "words"])
def test_the_fast_presets_title_settings_are_off_where_they_cannot_apply(tmp_path, data):
    """The README's own-text command (`--preset fast` on plain text) and the word tokenizer on movies exited 2 with
    "--title_dropout needs ...": the preset's windows and title dropout apply where they can and are off where not
    (the model then is not guided by default); typed by the user, they are still refused there."""
    text = ("To be, or not to be, that is the question. " * 400) if data == "plain" else TINY_TEXT * 10
    (tmp_path / "mine.txt").write_text(text, encoding="utf-8")
    extra = ["--tokenizer", "word"] if data == "words" else []
    small = ["--n_layer", "1", "--n_embd", "32", "--context_length", "32", "--max_iters", "2", "--eval_iters", "1"]
    common = ["--training_data", "mine.txt", "--preset", "fast", *extra, *small, *QUIET]
    result = run_gpt(*common, "--out_dir", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    checkpoint = load_checkpoint(tmp_path / "run" / "last.pt")
    assert checkpoint.trainer["train_config"]["title_dropout"] == 0.0 and checkpoint.train_args["title_dropout"] == 0
    refused = run_gpt(*common, "--title_dropout", "0.2", "--out_dir", "refused", cwd=tmp_path)
    assert refused.returncode == 2 and "--title_dropout needs" in refused.stderr
    assert not (tmp_path / "refused").exists()


def test_ctrl_c_after_the_last_step_says_the_run_is_complete(tmp_path, monkeypatch, capsys, tiny_text_file):
    """A resume would have nothing left to do: no "to go on" hint, still exit 130 (the user asked to stop)."""
    original_step = Trainer.train_step

    def last_step_then_ctrl_c(self):
        loss = original_step(self)
        if self.step == self.total_steps:
            os.kill(os.getpid(), signal.SIGINT)  # the run's own handler asks the trainer to stop
        return loss

    monkeypatch.setattr(Trainer, "train_step", last_step_then_ctrl_c)
    monkeypatch.chdir(tmp_path)
    code = main(
        ["--training_data", str(tiny_text_file), "--preset", "tiny", "--max_iters", "3", "--out_dir", "run", *QUIET]
    )
    out = capsys.readouterr().out
    assert code == 130 and "interrupted after the last step: the run in run is complete" in out
    assert "to go on" not in out


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "python gpt.py"),
        ({"LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "4"}, "torchrun --nproc_per_node 4 gpt.py"),
    ],
)
def test_the_resume_hint_names_the_launcher_the_run_was_started_with(env, expected):
    assert launcher("gpt", env) == expected


def test_training_data_given_twice_keeps_both():
    """argparse's nargs="+" alone kept only the last occurrence: a.txt was dropped without a word."""
    settings = parse_settings(["--training_data", "a.txt", "--training_data", "b.txt", "c.txt"])
    assert settings.command.training_data == ["a.txt", "b.txt", "c.txt"]
