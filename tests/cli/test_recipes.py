"""The README's recipes, each run end to end at a tiny scale: on the real files in ../shared/data where the recipe
is about them (reviews, a play), else on the shipped demo corpus, so that they run in any clone."""

import csv
import signal
import subprocess
import time

import pytest
import torch

from moviegpt.records import parse_movies
from tests.helpers import DEMO_MOVIES, SHARED_DATA, generated, run_gpt, start_gpt, torchrun

TINY = ["--preset", "tiny", "--wandb", "disabled"]
pytestmark = pytest.mark.slow  # whole recipes end to end: seconds each
needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent (the shared corpora)")


def extractor(*args: str, cwd) -> subprocess.CompletedProcess:
    return run_gpt(*args, cwd=cwd, script="extractor.py")


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def train_tiny(data: str, cwd, *extra: str, steps: int = 5, out_dir: str = "run") -> None:
    """A few steps of the tiny preset on a recipe's data, generating next to nothing: it must succeed."""
    ok(
        run_gpt(
            "--training_data",
            data,
            *TINY,
            *extra,
            "--max_iters",
            str(steps),
            "--out_dir",
            out_dir,
            "--prompt",
            "",
            "--max_new_tokens",
            "5",
            cwd=cwd,
        )
    )


def letterboxd_csv(path, movies: int = 300) -> str:
    """A CSV in Letterboxd's shape (id,name,date,tagline,description,minute,rating) of demo movies."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "date", "tagline", "description", "minute", "rating"])
        for i, movie in enumerate(parse_movies(DEMO_MOVIES.read_text(encoding="utf-8"))[:movies]):
            writer.writerow([i, movie.title, 2000 + i % 20, "", movie.description, 90, 3.5])
    return str(path)


def test_recipe_1_letterboxd_movies_to_titles_repl_and_posters(tmp_path):
    ok(
        extractor(
            "--input",
            letterboxd_csv(tmp_path / "movies.csv"),
            "--output",
            "movies.txt",
            "--shuffle",
            cwd=tmp_path,
        )
    )
    train_tiny("movies.txt", tmp_path)
    out = ok(
        run_gpt(
            "--checkpoint",
            "run/best.pt",
            "--title",
            "The Moon Baker",
            "--poster",
            "--max_new_tokens",
            "40",
            cwd=tmp_path,
        )
    )
    assert "The description of the movie named 'The Moon Baker' is:" in out
    assert (tmp_path / "posters" / "the-moon-baker.png").is_file()
    out = ok(
        run_gpt(
            "--checkpoint",
            "run/best.pt",
            "--interactive",
            "--max_new_tokens",
            "30",
            cwd=tmp_path,
            stdin=":title Heat\n:poster\n",
        )
    )
    assert "poster saved to posters/heat.png" in out


@needs_shared
def test_recipe_2_reviews_by_sentiment(tmp_path):
    out = ok(
        extractor(
            "--input",
            str(SHARED_DATA / "raw" / "my_min_gpt_chinese_reviews.csv"),
            "--output",
            "reviews.txt",
            "--template",
            "{sentiment}：{review}",
            "--record-end",
            "<END>",
            "--value",
            "sentiment=1:好看",
            "--value",
            "sentiment=0:难看",
            cwd=tmp_path,
        )
    )
    assert "written 5000" in out
    records = (tmp_path / "reviews.txt").read_text(encoding="utf-8").split("\n<END>\n")
    assert records[0] == "好看：期待期待，上映一定要去看。" and records[-1] == ""
    assert {r.split("：")[0] for r in records[:-1]} == {"好看", "难看"}
    train_tiny("reviews.txt", tmp_path)
    ok(
        run_gpt(
            "--checkpoint",
            "run/best.pt",
            "--prompt",
            "难看：",
            "--num_samples",
            "3",
            "--stop",
            "<END>",
            "--max_new_tokens",
            "60",
            "--disable-typewriter",
            "--outputs_dir",
            "samples",
            cwd=tmp_path,
        )
    )
    (saved,) = (tmp_path / "samples").glob("output_*.txt")
    samples = saved.read_text(encoding="utf-8")
    assert samples.count("难看：") >= 3 and "<END>" not in samples


@needs_shared
def test_recipe_3_a_play_in_the_repl(tmp_path):
    train_tiny(str(SHARED_DATA / "tinyshakespeare.txt"), tmp_path)
    out = ok(
        run_gpt(
            "--checkpoint",
            "run/best.pt",
            "--interactive",
            "--max_new_tokens",
            "40",
            cwd=tmp_path,
            stdin="ROMEO:\n:set temperature 0.7\nJULIET:\n",
        )
    )
    assert out.count(">> ") >= 3 and "temperature = 0.7" in out
    (session,) = (tmp_path / "outputs").glob("session_*.txt")
    assert "ROMEO:" in session.read_text() and "JULIET:" in session.read_text()


def test_recipe_4_words_greedy_beam_and_sampling(tmp_path):
    train_tiny(str(DEMO_MOVIES), tmp_path, "--tokenizer", "word")
    prompt = "The description of the movie named 'The Last Heist' is:"
    texts = {}
    for mode in ("greedy", "beam", "sample"):
        ok(
            run_gpt(
                "--checkpoint",
                "run/best.pt",
                "--prompt",
                prompt,
                "--decode",
                mode,
                "--max_new_tokens",
                "12",
                "--disable-typewriter",
                "--outputs_dir",
                mode,
                cwd=tmp_path,
            )
        )
        (saved,) = (tmp_path / mode).glob("output_*.txt")
        texts[mode] = generated(saved)
    assert all(text.startswith(prompt) for text in texts.values())


@needs_shared
def test_recipe_5_bigram_versus_transformer_on_shakespeare(tmp_path):
    train_tiny(str(SHARED_DATA / "tinyshakespeare.txt"), tmp_path, steps=30, out_dir="gpt")
    result = run_gpt(
        "--compare",
        "gpt/best.pt",
        "--max_iters",
        "30",
        "--out_dir",
        "bigram",
        "--wandb",
        "disabled",
        cwd=tmp_path,
        script="simple_bigram.py",
        timeout=300,
    )
    out = ok(result)
    assert "| bigram | 4,225 | 8 |" in out and "| GPT | " in out


def test_recipe_6_train_interrupt_resume_then_torchrun(tmp_path):
    data = str(DEMO_MOVIES)
    proc = start_gpt(
        "--training_data",
        data,
        *TINY,
        "--max_iters",
        "100000",
        "--checkpoint_every_steps",
        "5",
        "--out_dir",
        "run",
        "--prompt",
        "",
        "--max_new_tokens",
        "5",
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (tmp_path / "run" / "last.pt").exists():
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "to go on: python gpt.py --resume run" in out
    step = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["trainer"]["step"]
    ok(
        run_gpt(
            "--resume",
            "run",
            "--max_iters",
            str(step + 5),
            "--wandb",
            "disabled",
            "--prompt",
            "",
            "--max_new_tokens",
            "5",
            cwd=tmp_path,
        )
    )
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["trainer"]["step"] == step + 5
    ok(
        torchrun(
            "--training_data",
            data,
            *TINY,
            "--batch_size",
            "4",
            "--max_iters",
            "5",
            "--out_dir",
            "ddp",
            "--prompt",
            "",
            "--max_new_tokens",
            "5",
            cwd=tmp_path,
        )
    )
    assert torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)["train_args"]["world_size"] == 2
