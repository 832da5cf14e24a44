"""Faults during training, through real subprocesses: kill -9 and Ctrl-C at random moments, a full disk."""

import random
import resource
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import torch

from moviegpt.cli.main import main
from tests.helpers import TINY_TEXT, run_gpt, start_gpt

pytestmark = pytest.mark.slow  # subprocesses and whole runs: seconds each

# About 250 steps (two epochs of ~124) with a checkpoint every 5 steps: a few seconds, many moments to hit.
RUN = [
    "--preset",
    "tiny",
    "--epochs",
    "2",
    "--checkpoint_every_steps",
    "5",
    "--logging_steps",
    "1",
    "--dtype",
    "float32",
    "--wandb",
    "disabled",
    "--prompt",
    "",
    "--max_new_tokens",
    "3",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "movies.txt"
    path.write_text(TINY_TEXT * 20, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, corpus) -> dict:
    """The final checkpoint of the same run made without any interruption."""
    work = tmp_path_factory.mktemp("whole")
    result = run_gpt("--training_data", str(corpus), *RUN, "--out_dir", "run", cwd=work)
    assert result.returncode == 0, result.stderr
    return torch.load(work / "run" / "last.pt", weights_only=True)


def interrupt_at_random(corpus: Path, work: Path, signum: int, seed: int) -> subprocess.CompletedProcess:
    """Start the run, wait for its first checkpoint, then send signum after a random delay."""
    proc = start_gpt("--training_data", str(corpus), *RUN, "--out_dir", "run", cwd=work)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (work / "run" / "last.pt").exists():
        time.sleep(0.02)
    time.sleep(random.Random(seed).uniform(0.0, 2.0))
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def resume_and_compare(work: Path, uninterrupted: dict) -> None:
    state = torch.load(work / "run" / "last.pt", weights_only=True)
    if state["trainer"]["step"] < uninterrupted["trainer"]["step"]:  # else the signal came after training had finished
        result = run_gpt("--resume", "run", "--wandb", "disabled", "--prompt", "", "--max_new_tokens", "3", cwd=work)
        assert result.returncode == 0, result.stderr
        state = torch.load(work / "run" / "last.pt", weights_only=True)
    assert state["trainer"]["step"] == uninterrupted["trainer"]["step"]
    for name, tensor in uninterrupted["model"].items():
        assert torch.equal(state["model"][name], tensor), name
    assert not list((work / "run").glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_a_random_moment_then_resume_gives_the_uninterrupted_weights(tmp_path, corpus, uninterrupted, seed):
    result = interrupt_at_random(corpus, tmp_path, signal.SIGKILL, seed)
    assert result.returncode in (-signal.SIGKILL, 0), result.stderr
    for checkpoint in (tmp_path / "run").glob("*.pt"):
        torch.load(checkpoint, weights_only=True)  # every file there is whole
    resume_and_compare(tmp_path, uninterrupted)


@pytest.mark.parametrize("seed", [4, 5])
def test_ctrl_c_at_a_random_moment_then_resume_gives_the_uninterrupted_weights(tmp_path, corpus, uninterrupted, seed):
    result = interrupt_at_random(corpus, tmp_path, signal.SIGINT, seed)
    assert result.returncode in (130, 0), result.stderr
    if result.returncode == 130:
        assert "interrupted; to go on: python gpt.py --resume run" in result.stdout
    resume_and_compare(tmp_path, uninterrupted)


def test_full_disk_while_saving_keeps_the_previous_checkpoint(tmp_path, corpus):
    first = run_gpt("--training_data", str(corpus), *RUN, "--epochs", "1", "--out_dir", "run", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").glob("*.pt")}

    def small_disk() -> None:  # writes past 100 KB fail with EFBIG, as on a full disk (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    result = run_gpt(
        "--resume", "run", "--epochs", "2", "--wandb", "disabled", cwd=tmp_path, preexec_fn=small_disk, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot write checkpoint run/epoch_002.pt")
    assert "Traceback" not in result.stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "run").glob("*.pt")}
    assert after == before
    assert not list((tmp_path / "run").glob(".*"))


def test_resume_continues_the_same_wandb_run(tmp_path, monkeypatch, capsys):
    """The wandb run id is stored in the checkpoint and handed back to wandb.init on --resume."""
    inits = []

    class FakeRun:
        def __init__(self, **kwargs):
            inits.append(kwargs)
            self.id = kwargs.get("id") or f"run{len(inits)}"

        def define_metric(self, *args, **kwargs): ...
        def log(self, metrics): ...
        def finish(self): ...

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=FakeRun))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    common = ["--wandb", "offline", "--prompt", "", "--max_new_tokens", "3"]
    assert (
        main(["--training_data", "movies.txt", "--preset", "tiny", "--epochs", "1", "--out_dir", "run", *common]) == 0
    )
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["trainer"]["wandb_run_id"] == "run1"
    assert main(["--resume", "run", "--epochs", "2", *common]) == 0
    assert inits[1]["id"] == "run1" and inits[1]["resume"] == "allow"
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["trainer"]["wandb_run_id"] == "run1"
