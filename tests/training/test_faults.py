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
from moviegpt.files import TEMP_SUFFIX
from tests.helpers import QUIET, TINY_TEXT, run_gpt, start_gpt

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
    "--threads",  # exact resume is promised at a fixed thread count; the governor may switch on a busy machine
    "1",
    *QUIET,
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


RESUME = ["--resume", "run", *QUIET]
# One run interrupted five times, each time at a random moment after a new checkpoint, and resumed: kill -9 and
# Ctrl-C, in fresh and in resumed processes. One run's work instead of five (this test used to start ten processes).
SIGNALS = (signal.SIGKILL, signal.SIGINT, signal.SIGKILL, signal.SIGINT, signal.SIGKILL)


def checkpoint_time(work: Path) -> int:
    path = work / "run" / "last.pt"
    return path.stat().st_mtime_ns if path.exists() else 0


def interrupt_at_random(args: list[str], work: Path, signum: int, rng: random.Random) -> subprocess.CompletedProcess:
    """Start gpt.py, wait for a checkpoint newer than the one it started from, then send signum after a random delay."""
    before = checkpoint_time(work)
    proc = start_gpt(*args, cwd=work)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and checkpoint_time(work) == before and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.5))
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def check_interrupted(result: subprocess.CompletedProcess, signum: int, work: Path) -> None:
    """What each kind of interruption must leave: a clean exit with the resume command, or only whole files."""
    if signum == signal.SIGINT:
        assert result.returncode == 130, result.stderr
        assert "interrupted; to go on: python gpt.py --resume run" in result.stdout
    else:
        assert result.returncode == -signal.SIGKILL, result.stderr
    for checkpoint in (work / "run").glob("*.pt"):
        torch.load(checkpoint, weights_only=True)  # every file there is whole


def test_kill_9_and_ctrl_c_at_random_moments_then_resume_gives_the_same_weights(tmp_path, corpus, uninterrupted):
    rng = random.Random(20261123)
    args = ["--training_data", str(corpus), *RUN, "--out_dir", "run"]
    interruptions = 0
    for signum in SIGNALS:
        result = interrupt_at_random(args, tmp_path, signum, rng)
        if result.returncode == 0:  # training had finished before the signal came
            break
        check_interrupted(result, signum, tmp_path)
        interruptions += 1
        args = RESUME
    else:
        result = run_gpt(*RESUME, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert interruptions >= 3, "the run finished before most signals: make RUN longer"
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["trainer"]["step"] == uninterrupted["trainer"]["step"]
    for name, tensor in uninterrupted["model"].items():
        assert torch.equal(state["model"][name], tensor), name
    assert not list((tmp_path / "run").glob(f".*{TEMP_SUFFIX}"))  # no temporary file left behind


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
    assert [p.name for p in (tmp_path / "run").glob(".*")] == [".lock"]  # no temporary file left (the lock stays)


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
