import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

TINY_TEXT = (
    "The description of the movie named 'Paper Moon Harbor' is:\n"
    "A lighthouse keeper finds a map folded inside a bottle and sails after it.\n"
    "END_OF_MOVIE\n"
    "The description of the movie named 'Tea for the Dragon' is:\n"
    "An old dragon opens a tea house, and the village learns to trust him again.\n"
    "END_OF_MOVIE\n"
) * 6


def gpt_env() -> dict[str, str]:
    """The environment of a gpt.py subprocess: no wandb settings of the caller, the project importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_gpt(*args: str, cwd: Path, timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run gpt.py in a subprocess with wandb off and no terminal on stdin."""
    return subprocess.run(
        [sys.executable, str(ROOT / "gpt.py"), *args], cwd=cwd, env=gpt_env(), input=stdin or "",
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(autouse=True, scope="session")
def isolated_cache(tmp_path_factory):
    """Token caches and downloads of the tests (and their subprocesses) go to a temporary folder."""
    os.environ["MOVIEGPT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def tiny_text_file(tmp_path: Path) -> Path:
    path = tmp_path / "movies.txt"
    path.write_text(TINY_TEXT, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint of a tiny model trained for a few steps (made once per session; do not modify it)."""
    work = tmp_path_factory.mktemp("tiny_run")
    data = work / "movies.txt"
    data.write_text(TINY_TEXT, encoding="utf-8")
    result = run_gpt("--training_data", str(data), "--preset", "tiny", "--max_iters", "3", "--wandb", "disabled",
                     "--out_dir", str(work / "run"), "--prompt", "", "--max_new_tokens", "5", cwd=work)
    assert result.returncode == 0, result.stderr
    (checkpoint,) = (work / "run").glob("epoch_*.pt")
    return checkpoint


@pytest.fixture
def http_root(tmp_path):
    """A folder served over HTTP on 127.0.0.1; yields (folder, base URL, list of requested paths).

    /truncated/NAME sends the Content-Length of NAME but only half its bytes."""
    root = tmp_path / "served"
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

        def do_GET(self):
            if self.path.startswith("/truncated/"):  # promises the whole file, sends half, hangs up
                body = (root / self.path.removeprefix("/truncated/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()
