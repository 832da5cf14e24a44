"""`gpt.py --checkpoint FILE --serve`: a local web page where a title becomes a streamed description and a poster.

Python's own threading HTTP server and server-sent events: nothing to install, one thread per request (so several
tabs generate at once, each with its own cache and random generator), bound to 127.0.0.1 unless --host says more.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import torch

from moviegpt.errors import UserError
from moviegpt.generation.config import GenerationConfig, live_settings
from moviegpt.generation.generate import generate_request
from moviegpt.generation.request import title_request
from moviegpt.posters.render import make_posters
from moviegpt.records import RecordFormat
from moviegpt.runtime import Runtime
from moviegpt.settings import Setting, between, declared, setting, validate
from moviegpt.tokenizer.base import Tokenizer
from moviegpt.web.page import render_page

SEED = next(s for s in declared(Runtime) if s.name == "seed")  # the form's seed, checked as --seed is

POSTER_NAME = re.compile(r"[a-z0-9-]+\.png")


@dataclass
class ServeSettings:
    """Where --serve listens."""

    host: str = setting(
        "127.0.0.1", "--serve: address to listen on; anything but 127.0.0.1 exposes the page to the network"
    )
    port: int = setting(7860, "--serve: port (0 picks a free one)", check=between(0, 65535))

    def __post_init__(self) -> None:
        validate(self)


SendEvent = Callable[[str, object], None]


def web_settings(config: GenerationConfig) -> list[Setting]:
    """The form's fields: the generation settings declared live on the web page."""
    return list(live_settings(config, "web").values())


class EventStreamer:
    """Sends each piece of generated text as a `text` event."""

    def __init__(self, send: SendEvent):
        self.send = send

    def put(self, row: int, text: str) -> None:
        self.send("text", text)

    def end(self, row: int) -> None:
        pass


@dataclass
class WebGenerator:
    """The loaded model and what every request shares; requests only read it."""

    model: torch.nn.Module
    tokenizer: Tokenizer
    record_format: RecordFormat | None
    defaults: GenerationConfig  # the server's settings (stop strings, the max length); requests vary sampling
    posters_dir: Path
    credit: Callable[[GenerationConfig], str]  # a poster's small print for the settings used
    model_name: str
    title_dropout: float = 0.0  # what the model was trained with (it sets the default guidance)

    def config_for(self, params: dict[str, str]) -> GenerationConfig:
        """The request's settings (the form's fields; an empty one keeps the server's value), checked as the flags
        are; a bad value is a UserError with a message for the page."""
        values = {}
        for s in web_settings(self.defaults):
            text = params.get(s.name, "").strip()
            if text:
                try:
                    values[s.name] = s.parse(text)
                except ValueError as exc:
                    raise UserError(f"{s.name} {exc}") from None
        limit = self.defaults.max_new_tokens
        if not 1 <= values.get("max_new_tokens", limit) <= limit:
            raise UserError(f"max_new_tokens must be between 1 and {limit} (this server's maximum)")
        try:  # checked by --seed's own declaration (0 .. 2^63 - 1)
            seed = SEED.parse(params["seed"].strip()) if params.get("seed", "").strip() else secrets.randbelow(2**31)
        except ValueError as exc:
            raise UserError(f"seed {exc}") from None
        return dataclasses.replace(self.defaults, decode="sample", num_samples=1, seed=seed, **values)

    def run(self, params: dict[str, str], send: SendEvent) -> None:
        """Generate for one request, sending `text` pieces, then `done` (with the poster's URL) or `failed`."""
        try:
            title = params.get("title", "").strip() or None
            request = title_request(
                self.config_for(params), self.record_format, self.title_dropout, title, params.get("prompt", "")
            )
            prompt, config = request.prompt, request.config
            self.tokenizer.encode(prompt)  # unknown characters: a message, before anything is sent
            send("text", prompt)
            (result,) = generate_request(self.model, self.tokenizer, request, EventStreamer(send))
            posters = make_posters(prompt + result.text, self.record_format, self.credit(config), self.posters_dir)
        except UserError as exc:
            send("failed", str(exc))
            return
        poster = f"/posters/{quote(posters[0].name)}" if posters else None
        candidates = [{"text": c.text, "bits": round(c.bits, 2)} for c in result.candidates]
        done = {"text": prompt + result.text, "title": title or "", "poster": poster, "seed": config.seed}
        send("done", {**done, "candidates": candidates})


def make_handler(generator: WebGenerator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: the terminal is for the user
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/":
                page = render_page(generator.model_name, web_settings(generator.defaults), generator.defaults)
                self.reply(200, "text/html; charset=utf-8", page.encode())
            elif url.path == "/generate":
                self.stream({k: v[0] for k, v in parse_qs(url.query).items()})
            elif url.path.startswith("/posters/") and POSTER_NAME.fullmatch(url.path.removeprefix("/posters/")):
                path = generator.posters_dir / url.path.removeprefix("/posters/")
                if path.is_file():
                    self.reply(200, "image/png", path.read_bytes())
                else:
                    self.reply(404, "text/plain", b"no such poster")
            else:
                self.reply(404, "text/plain", b"not found")

        def reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def stream(self, params: dict[str, str]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

            def send(event: str, data: object) -> None:
                self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the tab was closed: stop quietly
                generator.run(params, send)

    return Handler


def start_server(generator: WebGenerator, host: str, port: int) -> ThreadingHTTPServer:
    try:
        server = ThreadingHTTPServer((host, port), make_handler(generator))
    except OSError as exc:
        raise UserError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    server.daemon_threads = True
    return server


def serve(generator: WebGenerator, host: str, port: int) -> None:
    """Serve until Ctrl-C."""
    server = start_server(generator, host, port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {host}: anyone who can reach this machine on port {port} can generate text "
            "and see the posters",
            flush=True,
        )
    print(f"MovieGPT is at http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
