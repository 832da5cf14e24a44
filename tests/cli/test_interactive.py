"""The `>> ` loop in-process: :settings, :set, and Ctrl-C during a generation returning to the prompt."""

import io

import torch

from moviegpt.cli.interactive import Repl, Session
from moviegpt.generation.config import GenerationConfig
from moviegpt.model import GPT, GPTConfig
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
    assert path is not None and path.read_text(encoding="utf-8").startswith("b")  # the second prompt's movie


def test_a_poster_after_set_is_credited_with_the_settings_in_force(tmp_path):
    out, credits = io.StringIO(), []
    Repl(session(out), tmp_path, poster=lambda text, config: credits.append(config.temperature)).run(
        io.StringIO("abc\n:set temperature 0.5\n:poster\n")
    )
    assert credits == [0.5]
