"""--checkpoint and --resume from an http(s) URL (gdown, served on 127.0.0.1), --sha256, bad downloads."""

import hashlib
import shutil

import pytest
import torch

from moviegpt.cli.main import main
from moviegpt.data.download import cached_name, drive_file_id, is_remote
from tests.helpers import TINY_TEXT

GENERATE = ["--prompt", "", "--max_new_tokens", "3", "--disable-typewriter"]


def run_main(argv, tmp_path, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    code = main([*argv, "--cache_dir", str(tmp_path / "cache")])
    out, err = capsys.readouterr()
    return code, out, err.strip().splitlines()[-1] if code else err  # after gdown's progress lines


def cache_files(tmp_path) -> list[str]:
    downloads = tmp_path / "cache" / "downloads"
    return sorted(p.name for p in downloads.iterdir()) if downloads.exists() else []


def test_checkpoint_from_a_url_is_downloaded_once_and_checked(
    tmp_path, monkeypatch, capsys, http_root, tiny_checkpoint
):
    root, base, requests = http_root
    shutil.copyfile(tiny_checkpoint, root / "model.pt")
    digest = hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()
    for _ in range(2):
        code, out, err = run_main(
            ["--checkpoint", f"{base}/model.pt", "--sha256", digest, *GENERATE], tmp_path, monkeypatch, capsys
        )
        assert code == 0, err
        assert "saved to outputs/" in out
    assert requests == ["/model.pt"]
    assert len(cache_files(tmp_path)) == 1


def test_checksum_mismatch_removes_the_download(tmp_path, monkeypatch, capsys, http_root, tiny_checkpoint):
    root, base, _ = http_root
    shutil.copyfile(tiny_checkpoint, root / "model.pt")
    code, _, err = run_main(
        ["--checkpoint", f"{base}/model.pt", "--sha256", "0" * 64, *GENERATE], tmp_path, monkeypatch, capsys
    )
    assert code == 2 and err.startswith("error: checksum mismatch") and "download was removed" in err
    assert cache_files(tmp_path) == []


def test_local_checksum_mismatch_keeps_the_file(tmp_path, monkeypatch, capsys, tiny_checkpoint):
    local = tmp_path / "model.pt"
    shutil.copyfile(tiny_checkpoint, local)
    code, _, err = run_main(
        ["--checkpoint", str(local), "--sha256", "ab" * 32, *GENERATE], tmp_path, monkeypatch, capsys
    )
    assert code == 2 and "checksum mismatch" in err and local.read_bytes() == tiny_checkpoint.read_bytes()


@pytest.mark.parametrize(
    "page",
    [
        b"<!DOCTYPE html><html><title>Google Drive - Quota exceeded</title></html>",
        b"\n  <html><body>Virus scan warning</body></html>",
    ],
)
def test_a_web_page_instead_of_a_checkpoint_is_refused(tmp_path, monkeypatch, capsys, http_root, page):
    root, base, _ = http_root
    (root / "model.pt").write_bytes(page)
    code, _, err = run_main(["--checkpoint", f"{base}/model.pt", *GENERATE], tmp_path, monkeypatch, capsys)
    assert code == 2 and "sent a web page, not the file" in err
    assert cache_files(tmp_path) == []


def test_a_truncated_download_is_refused_and_leaves_nothing(tmp_path, monkeypatch, capsys, http_root, tiny_checkpoint):
    root, base, _ = http_root
    shutil.copyfile(tiny_checkpoint, root / "model.pt")
    code, _, err = run_main(["--checkpoint", f"{base}/truncated/model.pt", *GENERATE], tmp_path, monkeypatch, capsys)
    assert code == 2 and "download failed" in err and "incomplete" in err, err
    assert cache_files(tmp_path) == []


def test_resume_from_a_url_goes_on_in_a_new_run_folder(tmp_path, monkeypatch, capsys, http_root):
    root, base, _ = http_root
    (tmp_path / "movies.txt").write_text(TINY_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "--training_data",
                "movies.txt",
                "--preset",
                "tiny",
                "--max_iters",
                "3",
                "--out_dir",
                "first",
                "--wandb",
                "disabled",
                *GENERATE,
            ]
        )
        == 0
    )
    shutil.copyfile(tmp_path / "first" / "last.pt", root / "model.pt")
    code, out, err = run_main(
        ["--resume", f"{base}/model.pt", "--max_iters", "5", "--out_dir", "more", "--wandb", "disabled", *GENERATE],
        tmp_path,
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    assert torch.load(tmp_path / "more" / "last.pt", weights_only=True)["trainer"]["step"] == 5
    # the original run is untouched
    assert torch.load(tmp_path / "first" / "last.pt", weights_only=True)["trainer"]["step"] == 3


def test_google_drive_links_and_ids_are_recognised(tmp_path, monkeypatch):
    file_id = "1AbCdEfGhIjKlMnOpQrStUvWxYz_-0123"
    forms = [
        file_id,
        f"https://drive.google.com/file/d/{file_id}/view?usp=sharing",
        f"https://drive.google.com/uc?id={file_id}",
        f"https://drive.google.com/open?id={file_id}",
    ]
    assert {drive_file_id(form) for form in forms} == {file_id}
    assert {cached_name(form) for form in forms} == {f"gdrive-{file_id}"}
    assert drive_file_id("https://example.com/model.pt") is None
    monkeypatch.chdir(tmp_path)
    assert is_remote(file_id) and not is_remote("model.pt")
    (tmp_path / file_id).write_bytes(b"")
    assert not is_remote(file_id)  # an existing local file of that name wins
