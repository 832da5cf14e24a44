"""--training_data sources: files, folders, globs, and URLs served by a local HTTP server."""

import pytest

from moviegpt.data.sources import resolve_sources
from moviegpt.errors import UserError
from tests.helpers import TINY_TEXT, run_gpt


def test_folder_and_glob_expand_to_sorted_text_files(tmp_path):
    for name in ("b.txt", "a.txt", "notes.md"):
        (tmp_path / name).write_text("x")
    expected = [tmp_path / "a.txt", tmp_path / "b.txt"]
    assert resolve_sources([str(tmp_path)], tmp_path / "dl") == expected
    assert resolve_sources([str(tmp_path / "*.txt")], tmp_path / "dl") == expected
    assert resolve_sources([str(tmp_path / "b.txt"), str(tmp_path / "*.txt")], tmp_path / "dl") == [
        tmp_path / "b.txt",
        tmp_path / "a.txt",
    ]


def test_empty_folder_and_unmatched_glob_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no .txt files"):
        resolve_sources([str(tmp_path / "empty")], tmp_path / "dl")
    with pytest.raises(UserError, match="no training data files match"):
        resolve_sources([str(tmp_path / "*.nothing")], tmp_path / "dl")


def test_url_is_downloaded_once_into_the_cache(tmp_path, http_root):
    root, base, requests = http_root
    (root / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    (first,) = resolve_sources([f"{base}/movies.txt"], tmp_path / "dl")
    assert first.read_text(encoding="utf-8") == TINY_TEXT and first.parent == tmp_path / "dl"
    (again,) = resolve_sources([f"{base}/movies.txt"], tmp_path / "dl")
    assert again == first and len([r for r in requests if "movies.txt" in r]) == 1
    assert [p.name for p in (tmp_path / "dl").iterdir()] == [first.name]


def test_failed_download_leaves_no_file(tmp_path, http_root):
    _, base, _ = http_root
    with pytest.raises(UserError, match="download failed"):
        resolve_sources([f"{base}/missing.txt"], tmp_path / "dl")
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").iterdir())


@pytest.mark.slow
def test_training_from_a_url_end_to_end(tmp_path, http_root):
    root, base, _ = http_root
    (root / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    result = run_gpt(
        "--training_data",
        f"{base}/movies.txt",
        "--preset",
        "tiny",
        "--max_iters",
        "2",
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
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "run").glob("epoch_*.pt"))
