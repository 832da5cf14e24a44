"""Generating from the command line: titles, stop strings, samples, and the interactive loop through a pipe."""

import pytest
import torch

from moviegpt.cli.main import main
from tests.helpers import run_gpt

PREFIX = "The description of the movie named '"


def test_movie_checkpoint_records_its_format(tiny_checkpoint):
    state = torch.load(tiny_checkpoint, weights_only=True)
    assert state["record_format"]["end"] == "END_OF_MOVIE"


def test_title_builds_the_template_and_stops_at_end_of_movie(tmp_path, tiny_checkpoint):
    result = run_gpt(
        "--checkpoint",
        str(tiny_checkpoint),
        "--title",
        "Tea for the Dragon",
        "--max_new_tokens",
        "400",
        "--seed",
        "1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout.split("saved to")[0]
    assert printed.startswith(f"{PREFIX}Tea for the Dragon' is:\n")
    assert "END_OF_MOVIE" not in printed and "END_OF_MOVIE" not in (
        next((tmp_path / "outputs").glob("*.txt")).read_text(encoding="utf-8")
    )


def test_no_stop_and_custom_stop(tmp_path, tiny_checkpoint, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = [
        "--checkpoint",
        str(tiny_checkpoint),
        "--prompt",
        "The",
        "--max_new_tokens",
        "120",
        "--disable-typewriter",
        "--seed",
        "3",
    ]
    assert main(base + ["--no_stop"]) == 0
    unstopped = capsys.readouterr().out.split("\nsaved to")[0]
    assert len(unstopped) == len("The") + 120
    stop = unstopped[20:22]
    assert main(base + ["--stop", stop, "--stop", "zzzz"]) == 0
    stopped = capsys.readouterr().out.split("\nsaved to")[0]
    assert stopped == unstopped[: unstopped.find(stop, 3)]


def test_empty_prompt_invents_a_title(tmp_path, tiny_checkpoint, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--checkpoint", str(tiny_checkpoint), "--max_new_tokens", "30", "--disable-typewriter"]) == 0
    assert capsys.readouterr().out.startswith(PREFIX)


def test_several_samples_each_printed_once(tmp_path, tiny_checkpoint, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for typewriter in ([], ["--disable-typewriter"]):
        assert (
            main(
                [
                    "--checkpoint",
                    str(tiny_checkpoint),
                    "--title",
                    "Tea",
                    "--num_samples",
                    "3",
                    "--max_new_tokens",
                    "40",
                    *typewriter,
                ]
            )
            == 0
        )
        out = capsys.readouterr().out
        for n in (1, 2, 3):
            assert out.count(f"--- sample {n} ---\n{PREFIX}Tea' is:\n") == 1
    assert len(list((tmp_path / "outputs").glob("*.txt"))) == 2


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--top_p", "1.5"], "--top_p"),
        (["--top_p", "0"], "--top_p"),
        (["--num_beams", "0"], "--num_beams"),
        (["--decode", "beam", "--num_beams", "2", "--num_samples", "3"], "--num_samples"),
        (["--decode", "top"], "--decode"),
        (["--repetition_penalty", "-1"], "--repetition_penalty"),
    ],
)
def test_bad_generation_flags(tmp_path, tiny_checkpoint, capsys, monkeypatch, flags, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(["--checkpoint", str(tiny_checkpoint), "--prompt", "The", *flags]))
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and message in err


def test_interactive_loop_through_a_pipe(tmp_path, tiny_checkpoint):
    script = (
        "\n".join(
            [
                "The ",
                ":set temperature 0.5",
                ":set top_k 3",
                ":set max_new_tokens 25",
                ":set top_p 7",
                ":title Paper Moon Harbor",
                ":set nonsense 1",
                "Zebra☃",
                "quit",
                "never reached",
            ]
        )
        + "\n"
    )
    result = run_gpt(
        "--checkpoint", str(tiny_checkpoint), "--interactive", "--max_new_tokens", "15", cwd=tmp_path, stdin=script
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count(">> ") == 9
    assert "temperature = 0.5" in out and "top_k = 3" in out and "max_new_tokens = 25" in out
    assert "error: top_p must be in (0, 1]" in out and "error: usage: :set" in out
    assert "error: the model has never seen these characters" in out
    (session,) = (tmp_path / "outputs").glob("session_*.txt")
    saved = session.read_text(encoding="utf-8")
    assert saved.startswith("# max_new_tokens 15,") and "\nThe " in saved  # a line of settings above each text
    assert f"{PREFIX}Paper Moon Harbor' is:\n" in saved
    assert "never reached" not in out


def test_interactive_loop_ends_on_end_of_input(tmp_path, tiny_checkpoint):
    result = run_gpt("--checkpoint", str(tiny_checkpoint), "--interactive", cwd=tmp_path, stdin="")
    assert result.returncode == 0 and result.stdout.endswith(">> \n")
    assert not list((tmp_path / "outputs").glob("*"))  # no session file for an empty session


def test_training_flags_with_a_checkpoint_get_a_one_line_warning(tmp_path, tiny_checkpoint):
    result = run_gpt(
        "--checkpoint",
        str(tiny_checkpoint),
        "--n_embd",
        "64",
        "--lr",
        "0.1",
        "--prompt",
        "The ",
        "--max_new_tokens",
        "5",
        "--seed",
        "3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "--n_embd, --lr apply only to training" in warning and "--seed" not in warning
    quiet = run_gpt("--checkpoint", str(tiny_checkpoint), "--prompt", "The ", "--max_new_tokens", "5", cwd=tmp_path)
    assert "warning" not in quiet.stderr
