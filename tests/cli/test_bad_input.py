"""The README's bad-input table, rows not covered elsewhere: one line on stderr, exit code 2, nothing lost."""

import argparse
import errno
import os
import signal

import pytest

from moviegpt import files
from moviegpt.checkpoint import load_checkpoint
from moviegpt.cli.arguments import build_parser
from moviegpt.cli.main import main
from tests.helpers import TINY_RUN, TINY_TEXT, one_line_error

TRAIN = TINY_RUN


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    (tmp_path / "a_file").write_text("not a folder")
    return tmp_path


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--bogus", "1"], "unrecognized arguments: --bogus"),
        (["--keep_checkpoints", "-1"], "--keep_checkpoints: must be >= 0"),
        (["--max_minutes", "0"], "--max_minutes: must be > 0, got 0.0"),
        (["--checkpoint_every_steps", "0"], "--checkpoint_every_steps: must be >= 1"),
        (["--dtype", "float8"], "--dtype: invalid choice"),
        (["--out_dir", "a_file"], "--out_dir is a file, not a folder: a_file"),
        (["--outputs_dir", "a_file"], "cannot create --outputs_dir a_file"),
        (["--outputs_dir", "a_file/sub"], "cannot create --outputs_dir a_file/sub"),
        (["--poster", "--posters_dir", "a_file/sub"], "cannot create --posters_dir a_file/sub"),  # not after training
        (["--lr", "nan"], "--lr: must be a finite number, got nan"),
        (["--temperature", "inf"], "--temperature: must be a finite number, got inf"),
        (["--temperature", "-1"], "must be > 0 for sampling (0 is for --decode greedy or beam), got -1"),  # as 0 is
        (["--max_new_tokens", "0"], "--max_new_tokens: must be >= 1"),
        (["--n_embd", "30", "--n_head", "4"], "--n_embd (30) must be divisible by n_head (4)"),
        (["--dropout", "1.5"], "--dropout: must be in [0, 1), got 1.5"),
    ],
)
def test_bad_training_flags(workdir, capsys, flags, message):
    """Refused before anything is created: no run folder, no runs/<timestamp>, no outputs."""
    assert message in one_line_error(capsys, ["--training_data", "movies.txt", *TRAIN, *flags])
    assert not (workdir / "runs").exists() and not list(workdir.glob("outputs/*"))


def takes_a_float(parse) -> bool:
    try:
        return isinstance(parse("0.5"), float)
    except (argparse.ArgumentTypeError, ValueError):  # an int flag (--seed is a plain int)
        return False


def test_every_float_flag_refuses_nan_and_inf():
    for parser in (build_parser("gpt"), build_parser("bigram")):
        float_flags = [a for a in parser._actions if callable(a.type) and takes_a_float(a.type)]
        assert {"--lr", "--temperature", "--top_p", "--dropout", "--max_minutes"} & {
            a.option_strings[0] for a in float_flags
        }
        for action in float_flags:
            for text in ("nan", "inf", "-inf"):
                with pytest.raises(argparse.ArgumentTypeError, match="finite"):
                    action.type(text)


def test_unwritable_outputs_folder_is_reported_before_generating(workdir, capsys, tiny_checkpoint):
    err = one_line_error(capsys, ["--checkpoint", str(tiny_checkpoint), "--outputs_dir", "a_file", "--prompt", ""])
    assert "cannot create --outputs_dir a_file" in err
    assert capsys.readouterr().out == ""  # nothing was generated first


def test_title_with_characters_the_model_never_saw(workdir, capsys, tiny_checkpoint):
    err = one_line_error(capsys, ["--checkpoint", str(tiny_checkpoint), "--title", "Zorro 2"])
    assert "'Z'" in err and "'2'" in err


def test_a_pipe_as_training_data_is_refused_instead_of_waiting_for_a_writer(workdir, capsys):
    os.mkfifo(workdir / "pipe.txt")
    signal.alarm(30)  # without the check, reading the pipe waited for a writer for ever
    try:
        err = one_line_error(capsys, ["--training_data", "pipe.txt", *TRAIN])
    finally:
        signal.alarm(0)
    assert "training data is a pipe or a device, not a file: pipe.txt" in err
    assert not (workdir / "runs").exists()


@pytest.mark.parametrize("title", ["", "   ", "Two\nLines", "Carriage\rReturn"])
def test_an_empty_or_multi_line_title_is_refused(workdir, capsys, tiny_checkpoint, title):
    """A newline in a title would end the template's first line: the model would read a title and a plot start."""
    err = one_line_error(capsys, ["--checkpoint", str(tiny_checkpoint), "--title", title])
    assert "--title: must be one line, not empty" in err
    assert not list(workdir.glob("outputs/*"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--resume", "nowhere"], "checkpoint not found: nowhere"),
        (["--resume", "run", "--training_data", "other.txt"], "--training_data other.txt is not the data of the run"),
        (["--resume", "run", "--sha256", "ab" * 32], "--sha256 checks one file, but run is a folder"),
        (["--resume", "empty_run"], "no usable checkpoint in empty_run"),
        (["--resume", "broken_run"], "no usable checkpoint in broken_run (checkpoint is truncated"),
    ],
)
def test_bad_resume(workdir, capsys, argv, message):
    assert main(["--training_data", "movies.txt", *TRAIN, "--out_dir", "run"]) == 0
    (workdir / "empty_run").mkdir()
    (workdir / "broken_run").mkdir()
    (workdir / "broken_run" / "epoch_001.pt").write_bytes((workdir / "run" / "last.pt").read_bytes()[:1000])
    (workdir / "other.txt").write_text((workdir / "movies.txt").read_text()[::-1], encoding="utf-8")
    capsys.readouterr()
    assert message in one_line_error(capsys, argv)


def test_resume_accepts_the_original_command_with_resume_added(workdir, capsys):
    """`gpt.py --training_data FILE ... --resume RUN`, what most users type, goes on with the same data."""
    assert main(["--training_data", "movies.txt", *TRAIN, "--out_dir", "run"]) == 0
    assert main(["--training_data", "movies.txt", *TRAIN, "--resume", "run", "--max_iters", "4"]) == 0
    assert "resuming from run" in capsys.readouterr().out
    assert load_checkpoint(workdir / "run" / "last.pt").trainer["step"] == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--evaluate", "movies.txt"], "--evaluate needs --checkpoint"),
        (["--convert", "out.pt"], "--convert needs --checkpoint"),
        (["--serve"], "--serve needs --checkpoint"),
        (["--training_data", "movies.txt", "--tokenizer", "sentencepiece"], "--tokenizer: invalid choice"),
        (["--poster_from", "missing.txt"], "--poster_from file not found: missing.txt"),
    ],
)
def test_commands_missing_what_they_need(workdir, capsys, argv, message):
    assert message in one_line_error(capsys, argv)


def test_interactive_without_a_checkpoint_is_refused(capsys):
    """It trained the 57M original preset first (step 1 took 5:42); now it asks for the model to talk to."""
    assert "--interactive needs --checkpoint" in one_line_error(capsys, ["--interactive"])


def test_a_num_samples_the_memory_cannot_hold_is_refused_before_anything_is_generated(workdir, capsys, tiny_checkpoint):
    """Its KV cache alone (measured on the meta device) would be far larger than the machine: one line, not the
    allocator's error naming --batch_size."""
    argv = ["--checkpoint", str(tiny_checkpoint), "--prompt", "", "--num_samples", "1000000000"]
    err = one_line_error(capsys, argv)
    assert "generating 1,000,000,000 rows at once" in err and "lower --num_samples" in err
    assert not list(workdir.glob("outputs/*"))


def test_a_full_disk_while_saving_a_generation_leaves_no_empty_outputs_folder(
    workdir, capsys, monkeypatch, tiny_checkpoint
):
    """The folder is made only to hold the file; when the file cannot be written, the folder goes too."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    err = one_line_error(capsys, ["--checkpoint", str(tiny_checkpoint), "--prompt", "", "--outputs_dir", "new/out"])
    assert "cannot write output to new/out: No space left on device" in err
    assert not (workdir / "new").exists()
