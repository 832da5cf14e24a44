"""--init_from: a new run that starts from a checkpoint's weights and vocabulary, on other text."""

import torch

from moviegpt.checkpoint import load_checkpoint
from tests.helpers import QUIET, TINY_TEXT, run_gpt

TINY = ["--preset", "tiny", *QUIET]


def test_fine_tuning_starts_a_new_run_from_the_checkpoint(tmp_path, tiny_checkpoint):
    genre = tmp_path / "genre.txt"
    genre.write_text(TINY_TEXT.split("END_OF_MOVIE\n")[0] * 8 + "END_OF_MOVIE\n", encoding="utf-8")
    result = run_gpt(
        "--training_data",
        str(genre),
        "--init_from",
        str(tiny_checkpoint),
        *TINY,
        "--max_iters",
        "2",
        "--out_dir",
        "ft",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    base, tuned = load_checkpoint(tiny_checkpoint), load_checkpoint(tmp_path / "ft" / "last.pt")
    assert tuned.tokenizer == base.tokenizer  # the vocabulary is kept, though the new text has fewer characters
    assert tuned.trainer["step"] == 2 and tuned.train_args["init_from"] == str(tiny_checkpoint)
    moved = (tuned.model["token_embedding.weight"] - base.model["token_embedding.weight"]).abs().max()
    assert 0 < moved < 0.02  # two small steps from the checkpoint's weights (a fresh start is ~0.02 per weight off)
    assert torch.equal(
        torch.load(tiny_checkpoint, weights_only=True)["model"]["token_embedding.weight"],
        base.model["token_embedding.weight"],
    )  # the checkpoint itself is untouched


def test_characters_the_checkpoint_never_saw_are_listed(tmp_path, tiny_checkpoint):
    other = tmp_path / "other.txt"
    other.write_text("Zebra ☃ on the moon. " * 40, encoding="utf-8")
    result = run_gpt(
        "--training_data", str(other), "--init_from", str(tiny_checkpoint), *TINY, "--out_dir", "ft", cwd=tmp_path
    )
    err = result.stderr.strip()
    assert result.returncode == 2 and len(err.splitlines()) == 1, err
    assert "characters the checkpoint's model never saw" in err and "'☃'" in err and "'Z'" in err
    assert not (tmp_path / "ft").exists()


def test_a_size_flag_that_differs_from_the_checkpoint_is_refused(tmp_path, tiny_checkpoint):
    data = tmp_path / "movies.txt"
    data.write_text(TINY_TEXT, encoding="utf-8")
    result = run_gpt(
        "--training_data", str(data), "--init_from", str(tiny_checkpoint), *TINY, "--n_embd", "64", cwd=tmp_path
    )
    assert result.returncode == 2 and "--n_embd 64 differs from the model of --init_from (32)" in result.stderr
    assert not (tmp_path / "runs").exists()
