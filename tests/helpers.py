"""What the tests share: paths, a tiny corpus, and the one way to run gpt.py in a subprocess."""

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from moviegpt.cli.main import main
from moviegpt.data.dataset import TextDataset
from moviegpt.model import GPT, GPTConfig
from moviegpt.records import format_record
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.training.config import TrainConfig
from moviegpt.training.tracking import RunLogger
from moviegpt.training.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO_MOVIES = ROOT / "dataset" / "simple_movies.txt"  # the shipped demo corpus: movie records that every clone has

TINY_TEXT = (
    "The description of the movie named 'Paper Moon Harbor' is:\n"
    "A lighthouse keeper finds a map folded inside a bottle and sails after it.\n"
    "END_OF_MOVIE\n"
    "The description of the movie named 'Tea for the Dragon' is:\n"
    "An old dragon opens a tea house, and the village learns to trust him again.\n"
    "END_OF_MOVIE\n"
) * 6

# The flags of a subprocess run that trains with wandb off and generates next to nothing afterwards.
QUIET = ("--wandb", "disabled", "--prompt", "", "--max_new_tokens", "3")
# The same, in process: a tiny model trained for two steps.
TINY_RUN = ["--preset", "tiny", "--max_iters", "2", *QUIET]


def one_line_error(capsys, argv: list[str]) -> str:
    """Run gpt.py's main in process; assert it failed with exit code 2 and a one-line error; return the line."""
    with pytest.raises(SystemExit) as exit_info:  # argparse exits itself; main returns 2 for the rest
        raise SystemExit(main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def gpt_env() -> dict[str, str]:
    """The environment of a gpt.py subprocess: no wandb settings of the caller, the project importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def gpt_command(*args: str, script: str = "gpt.py") -> list[str]:
    """The command line of one of the project's scripts (gpt.py, simple_bigram.py, extractor.py)."""
    return [sys.executable, str(ROOT / script), *args]


def run_gpt(
    *args: str,
    cwd: Path,
    timeout: float = 120,
    stdin: str | None = None,
    script: str = "gpt.py",
    env: dict[str, str] | None = None,
    **popen: object,
) -> subprocess.CompletedProcess:
    """Run gpt.py (or another script of ours) in a subprocess with wandb off and no terminal on stdin."""
    return subprocess.run(
        gpt_command(*args, script=script),
        cwd=cwd,
        env=env or gpt_env(),
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def start_gpt(*args: str, cwd: Path, script: str = "gpt.py", env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start gpt.py in the background (to be signalled or killed), its output in pipes."""
    return subprocess.Popen(
        gpt_command(*args, script=script),
        cwd=cwd,
        env=env or gpt_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def torchrun(*args: str, cwd: Path, nproc: int = 2, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run gpt.py under torchrun with nproc processes on the CPU (gloo), one thread each."""
    env = {**gpt_env(), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        *gpt_command(*args)[1:],
    ]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def generated(path: Path) -> str:
    """A saved generation without its first line (the settings it was made with, seed included)."""
    header, _, text = path.read_text(encoding="utf-8").partition("\n")
    assert header.startswith("# ") and "seed " in header, header
    return text


def copying_corpus(movies: int, shuffled: bool, seed: int) -> str:
    """Titles of three random letters; each plot repeats its own title (or, shuffled, another movie's)."""
    rng = random.Random(seed)
    titles = ["".join(rng.choice("abcdefghij") for _ in range(3)) for _ in range(movies)]
    plots = rng.sample(titles, len(titles)) if shuffled else titles
    return "".join(format_record(title, f"{plot} and {plot}.") for title, plot in zip(titles, plots))


def trained(text: str, tmp_path, steps: int = 250) -> tuple[GPT, CharTokenizer]:
    """A tiny GPT trained on windows at record starts of text."""
    tok = CharTokenizer(text)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context_length=64, n_embd=32, n_head=2, n_layer=2, dropout=0.0,
                          position="rope"))  # fmt: skip
    config = TrainConfig(batch_size=16, lr=1e-2, max_iters=steps, epochs=1000, eval_iters=1, windows="records")
    data = TextDataset.from_tokens(tok.encode_array(text), tok)
    Trainer(model, data, config, torch.device("cpu"), torch.float32, RunLogger(tmp_path, "disabled", "t", {})).train()
    return model.eval(), tok
