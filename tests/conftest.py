import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from tests.helpers import TINY_TEXT, run_gpt


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
    result = run_gpt(
        "--training_data",
        str(data),
        "--preset",
        "tiny",
        "--max_iters",
        "3",
        "--wandb",
        "disabled",
        "--out_dir",
        str(work / "run"),
        "--prompt",
        "",
        "--max_new_tokens",
        "5",
        cwd=work,
    )
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
