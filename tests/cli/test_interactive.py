"""The `>> ` loop in-process: :settings, :set, and Ctrl-C during a generation returning to the prompt."""

import io
import sys

import pytest
import torch

from moviegpt.cli.interactive import Repl, Session, parse_setting
from moviegpt.errors import Interrupted, UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.request import title_request
from moviegpt.model import GPT, GPTConfig
from moviegpt.records import RecordFormat
from moviegpt.tokenizer.char import CharTokenizer

TOK = CharTokenizer("abcdefgh \n")


class CtrlCOnce(io.StringIO):
    """Terminal output where a Ctrl-C arrives while the first generated text is being printed."""

    def __init__(self):
        super().__init__()
        self.interrupted = False

    def write(self, text: str) -> int:
        if not self.interrupted and text == "a":  # the first sample's first streamed piece
            self.interrupted = True
            raise KeyboardInterrupt
        return super().write(text)


def session(out) -> Session:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=TOK.vocab_size, context_length=8, n_embd=16, n_head=2, n_layer=1, dropout=0.0))
    return Session(model.eval(), TOK, GenerationConfig(max_new_tokens=5), None, out=out)


def test_settings_shows_every_setting_after_a_set(tmp_path):
    out = io.StringIO()
    Repl(session(out), tmp_path).run(io.StringIO(":set temperature 0.5\n:settings\n:set decode greedy\n:settings\n"))
    lines = [line.removeprefix(">> ") for line in out.getvalue().splitlines()]
    settings = [line for line in lines if line.startswith("max_new_tokens ") and "=" not in line]
    assert "temperature 0.5, top_k None" in settings[0] and "decode sample" in settings[0]
    assert "decode greedy" in settings[1]


def test_ctrl_c_during_a_generation_returns_to_the_prompt(tmp_path):
    out = CtrlCOnce()
    path = Repl(session(out), tmp_path).run(io.StringIO("a\nb\nquit\n"))
    text = out.getvalue()
    assert out.interrupted and "(generation stopped)" in text
    assert text.count(">> ") == 3  # back at the prompt after the Ctrl-C, then "b", then quit
    saved = path.read_text(encoding="utf-8").split("\n\n")
    assert saved[0].endswith("[interrupted]")  # what the stopped generation had written is kept, marked
    assert saved[1].split("\n", 1)[1].startswith("b")  # then the second prompt's, after its settings line


def test_a_poster_is_credited_with_the_settings_its_movie_was_made_with(tmp_path):
    """A :set after the generation changes the next movie, not the credit of the last one."""
    out, credits = io.StringIO(), []
    Repl(session(out), tmp_path, poster=lambda text, config: credits.append(config.temperature)).run(
        io.StringIO("abc\n:set temperature 0.5\n:poster\n")
    )
    assert credits == [1.0]


class CtrlCAtPrompt(io.StringIO):
    """Typed input where a Ctrl-C comes at the prompt after the given lines."""

    def readline(self, *args) -> str:
        line = super().readline(*args)
        if not line:
            raise KeyboardInterrupt
        return line


def test_ctrl_c_at_the_prompt_leaves_with_exit_code_130_and_the_session_saved(tmp_path):
    out = io.StringIO()
    with pytest.raises(Interrupted):  # main turns it into exit code 130, as docs/errors.md says
        Repl(session(out), tmp_path).run(CtrlCAtPrompt("abc\n"))
    assert "session saved to" in out.getvalue() and list(tmp_path.glob("session*"))


def test_unknown_commands_and_a_title_without_a_name_are_refused(tmp_path):
    out = io.StringIO()
    Repl(session(out), tmp_path).run(io.StringIO(":foo\n:title\n:title   \n"))
    assert "error: unknown command :foo" in out.getvalue()
    assert out.getvalue().count("error: usage: :title <name of the movie>") == 2


def test_every_generation_draws_a_new_seed_which_is_shown_and_saved(tmp_path):
    out = io.StringIO()
    fresh = session(out)
    fresh.new_seeds = True
    path = Repl(fresh, tmp_path).run(io.StringIO("abc\nabc\n"))
    headers = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# max_new_tokens ")]
    seeds = [header.rsplit("seed ", 1)[1] for header in headers]  # the settings line above each text
    assert len(set(seeds)) == 2 and all(f"(seed {seed})" in out.getvalue() for seed in seeds)


def test_a_fixed_seed_makes_a_session_reproducible(tmp_path):
    texts = []
    for folder in ("a", "b"):
        path = Repl(session(io.StringIO()), tmp_path / folder).run(io.StringIO("abc\nabc\n"))
        texts.append(path.read_text(encoding="utf-8"))
    assert texts[0] == texts[1] and "seed 7331" in texts[0] and "seed 7332" in texts[0]  # --seed, then --seed + 1


def test_at_a_terminal_the_prompt_has_line_editing(monkeypatch, tmp_path):
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "quit")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    Repl(session(sys.stdout), tmp_path).run(sys.stdin)
    assert asked == [">> "]  # input() (with readline, where the platform has it), not a bare read of stdin


def test_set_decode_beam_works_on_a_guided_model():
    """A fast-preset model is guided by default (2), and beam search refuses guidance: `:set decode beam` failed.
    The default is now decided per request (title_request): 2 for sampling, off for beam search; guidance typed
    for beam is still refused."""
    config = GenerationConfig()  # no --guidance_scale: the model's default
    beam = parse_setting(":set decode beam", config)
    fmt = RecordFormat()
    assert title_request(config, fmt, title_dropout=0.3, title="Rain").config.guidance_scale == 2.0
    assert title_request(beam, fmt, title_dropout=0.3, title="Rain").config.guidance_scale == 1.0
    with pytest.raises(UserError, match="guidance_scale"):
        parse_setting(":set guidance_scale 2", beam)
