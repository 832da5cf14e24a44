"""torchrun on the CPU (gloo): two processes train like one process with the same global batch."""

import contextlib
import json
import shutil

import pytest
import torch

from moviegpt.training.distributed import gradient_sync
from tests.helpers import QUIET, TINY_TEXT, run_gpt, torchrun

pytestmark = pytest.mark.slow  # subprocesses and whole runs: seconds each

COMMON = [
    "--preset",
    "tiny",
    "--max_iters",
    "12",
    "--logging_steps",
    "1",
    "--eval_interval",
    "6",
    "--dtype",
    "float32",
    *QUIET,
]


def losses(run_dir, key: str) -> list[float]:
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [e[key] for e in events if key in e]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same training as 2 processes x batch 4 x grad_accum 2, and as 1 process x batch 8 x grad_accum 2."""
    work = tmp_path_factory.mktemp("ddp")
    (work / "movies.txt").write_text(TINY_TEXT * 10, encoding="utf-8")
    ddp = torchrun(
        "--training_data",
        "movies.txt",
        *COMMON,
        "--batch_size",
        "4",
        "--grad_accum",
        "2",
        "--out_dir",
        "ddp",
        "--outputs_dir",
        "ddp_outputs",
        cwd=work,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = run_gpt(
        "--training_data",
        "movies.txt",
        *COMMON,
        "--batch_size",
        "8",
        "--grad_accum",
        "2",
        "--out_dir",
        "single",
        "--outputs_dir",
        "single_outputs",
        cwd=work,
    )
    assert single.returncode == 0, single.stderr
    return work, ddp


def test_two_processes_follow_the_single_process_loss_curve(runs):
    work, _ = runs
    ddp_train, single_train = losses(work / "ddp", "train_loss"), losses(work / "single", "train_loss")
    assert len(ddp_train) == len(single_train) == 12
    assert ddp_train == pytest.approx(single_train, abs=1e-4)
    assert losses(work / "ddp", "val_loss") == pytest.approx(losses(work / "single", "val_loss"), abs=1e-4)
    assert ddp_train[-1] < ddp_train[0]  # it learned
    ddp_weights = torch.load(work / "ddp" / "last.pt", weights_only=True)["model"]
    single_weights = torch.load(work / "single" / "last.pt", weights_only=True)["model"]
    for name, tensor in single_weights.items():
        assert torch.allclose(ddp_weights[name], tensor, atol=1e-4), name


def test_only_rank_0_writes_and_prints(runs):
    work, ddp = runs
    assert sorted(p.name for p in (work / "ddp").iterdir()) == sorted(p.name for p in (work / "single").iterdir())
    assert len(list((work / "ddp_outputs").iterdir())) == 1
    assert ddp.stdout.count("training on movies.txt") == 1
    assert "batch 4 x grad_accum 2 x 2 processes = global batch 16 sequences" in ddp.stdout
    state = torch.load(work / "ddp" / "last.pt", weights_only=True)
    assert state["train_args"]["world_size"] == 2 and state["train_args"]["global_batch_size"] == 16
    assert state["trainer"]["tokens_seen"] == 12 * 16 * 32  # counted over both ranks


def test_checkpoints_move_between_torchrun_and_one_process(runs):
    work, _ = runs
    generated = run_gpt("--checkpoint", "ddp/last.pt", "--prompt", "", "--max_new_tokens", "5", cwd=work)
    assert generated.returncode == 0, generated.stderr
    resumed = torchrun(
        "--resume",
        "single",
        "--max_iters",
        "14",
        *QUIET,
        "--outputs_dir",
        "resumed_outputs",
        cwd=work,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(work / "single" / "last.pt", weights_only=True)["trainer"]["step"] == 14


def test_a_global_batch_larger_than_the_data_is_refused_on_every_rank(tmp_path):
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    result = torchrun(
        "--training_data", "movies.txt", *COMMON, "--batch_size", "64", "--out_dir", "run", cwd=tmp_path, timeout=120
    )
    assert result.returncode != 0
    assert "error: the global batch (64 x grad_accum 1 x 2 processes = 128 sequences of 32)" in result.stderr
    assert "Traceback" not in result.stderr.split("error: the global batch")[0]
    assert not list(tmp_path.glob("run/*.pt"))


def test_accumulation_steps_skip_the_gradient_all_reduce():
    calls = []

    class Wrapped(torch.nn.Module):
        @contextlib.contextmanager
        def no_sync(self):
            calls.append("no_sync")
            yield

    wrapped = Wrapped()
    for micro_step in range(3):
        with gradient_sync(wrapped, sync=micro_step == 2):
            pass
    assert calls == ["no_sync", "no_sync"]
    with gradient_sync(torch.nn.Linear(1, 1), sync=False):  # a plain module has nothing to skip
        pass


def test_a_dropout_run_resumes_exactly_under_torchrun(tmp_path):
    """Each rank draws its own dropout masks; a checkpoint keeps every rank's generators, so a run resumed under
    torchrun ends with the same weights as the run that was never stopped."""
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")  # 6 steps per epoch at this global batch
    flags = ("--training_data", "movies.txt", "--preset", "tiny", "--dropout", "0.2", "--batch_size", "4", *QUIET)
    whole = torchrun(*flags, "--epochs", "2", "--dtype", "float32", "--out_dir", "whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    (tmp_path / "resumed").mkdir()
    shutil.copy(tmp_path / "whole" / "epoch_001.pt", tmp_path / "resumed" / "epoch_001.pt")
    resumed = torchrun("--resume", "resumed", *QUIET, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    states = [torch.load(tmp_path / run / "epoch_002.pt", weights_only=True) for run in ("whole", "resumed")]
    assert states[0]["trainer"]["step"] == states[1]["trainer"]["step"] == 12
    assert len(states[0]["trainer"]["rng"]["ranks"]) == 2
    for name, tensor in states[0]["model"].items():
        assert torch.equal(states[1]["model"][name], tensor), name


def test_torchrun_trains_a_compiled_model(tmp_path):
    """DistributedDataParallel wraps the compiled model (a module), as in nanoGPT: device, compile, then DDP."""
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    flags = ("--training_data", "movies.txt", "--preset", "tiny", "--batch_size", "4", "--max_iters", "3", *QUIET)
    result = torchrun(*flags, "--compile", "--out_dir", "run", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "--compile failed" not in result.stderr
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["trainer"]["step"] == 3


@pytest.mark.parametrize("every", [["--checkpoint_every_steps", "4"], ["--checkpoint_every_minutes", "0.0001"]])
def test_periodic_saves_under_torchrun_do_not_deadlock(tmp_path, every):
    """Every rank enters a periodic save at the same step (it gathers their random states): by the step, or by the
    agreed time, never rank 0's own clock alone. Before, rank 0 waited in the save while the others trained on."""
    (tmp_path / "movies.txt").write_text(TINY_TEXT * 10, encoding="utf-8")
    args = ["--training_data", "movies.txt", *COMMON, "--batch_size", "4", "--out_dir", "ddp", *every]
    result = torchrun(*args, "--dist_timeout_minutes", "1", "--outputs_dir", "o", cwd=tmp_path, timeout=150)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "ddp" / "last.pt").exists()
    saved = [p.name for p in (tmp_path / "ddp").glob("epoch_*.pt")]
    assert saved, "no checkpoint was written"


def test_bad_input_under_torchrun_is_one_line_from_rank_0_and_the_other_ranks_are_silent(tmp_path):
    """Rank 1 used to print a RuntimeError traceback ("Connection closed by peer") from the barrier it waited at.
    torchrun's own failure report (ChildFailedError, exit code 1) follows ours; it is torchrun's, not ours."""
    result = torchrun("--training_data", "nothere.txt", *COMMON, "--out_dir", "run", cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    ours = result.stderr.split("Traceback (most recent call last):\n  File")[0]  # before torchrun's report
    assert ours.count("error: training data not found: nothere.txt") == 1
    assert "[rank1]" not in result.stderr and "closed by peer" not in result.stderr
    assert "exitcode  : 2" in result.stderr  # rank 0's exit code, as torchrun reports it
