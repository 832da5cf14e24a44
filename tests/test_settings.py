"""Settings are declared once (moviegpt/settings.py): the parser, the presets, resume and --init_from, the
"ignored with --checkpoint" warning, the REPL's :set and the web form all come from the declarations."""

import dataclasses
import io

import pytest

from moviegpt.cli import settings as cli_settings
from moviegpt.cli.arguments import build_parser, parse_settings
from moviegpt.cli.interactive import Repl, Session
from moviegpt.cli.settings import ignored_training_flags, initialised, registry, resumed, settings_for
from moviegpt.errors import UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.model import GPT, GPTConfig
from moviegpt.models import MODEL_KINDS
from moviegpt.settings import FIXED, FREE, setting
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.training.presets import BIGRAM_DEFAULTS, PRESETS
from moviegpt.web.page import render_page
from moviegpt.web.server import WebGenerator, web_settings


def flags_of(parser) -> dict[str, str]:
    return {a.dest: a.option_strings[0] for a in parser._actions if a.option_strings and a.dest != "help"}


@pytest.mark.parametrize("kind", ["gpt", "bigram"])
def test_every_declared_setting_is_a_flag_and_every_flag_a_setting(kind):
    flags = flags_of(build_parser(kind))
    assert set(flags) == {s.name for s in settings_for(kind)}
    assert all(flag == f"--{name}" for name, flag in flags.items() if name != "typewriter")  # one name throughout
    expected = (True, True, False) if kind == "gpt" else (False, False, True)
    assert ("n_embd" in flags, "preset" in flags, "compare" in flags) == expected


def test_every_preset_value_is_a_declared_setting_kept_by_resume():
    for values in [*PRESETS.values(), BIGRAM_DEFAULTS]:
        for name, value in values.items():
            assert registry()[name].resume in (FIXED, FREE), name  # a resumed run keeps what its preset chose
            assert registry()[name].problem(value) is None, name
    for preset in PRESETS:
        parse_settings(["--preset", preset])  # every preset builds valid configs


@pytest.fixture
def with_new_model_option(monkeypatch):
    """A new model option, declared once (one field of GPTConfig's), as a contributor would add it."""

    @dataclasses.dataclass
    class WithOption(GPTConfig):
        mirror: bool = setting(False, "a test option", resume=FIXED)

    classes = tuple(WithOption if c is GPTConfig else c for c in cli_settings.CONFIG_CLASSES)
    monkeypatch.setattr(cli_settings, "CONFIG_CLASSES", classes)
    monkeypatch.setitem(MODEL_KINDS, "gpt", (WithOption, GPT))
    monkeypatch.setitem(PRESETS, "fast", {**PRESETS["fast"], "mirror": True})
    registry.cache_clear()
    yield
    registry.cache_clear()


def test_a_new_model_option_declared_once_reaches_every_place(with_new_model_option):
    assert "--mirror" in build_parser().format_help() and "a test option" in build_parser().format_help()
    assert parse_settings(["--mirror"]).model.mirror is True
    assert parse_settings(["--preset", "fast"]).model.mirror is True  # the preset
    assert parse_settings(["--preset", "fast", "--no-mirror"]).model.mirror is False  # the flag wins
    assert "mirror" not in {s.name for s in settings_for("bigram")}  # the bigram has no such field
    run = parse_settings(["--resume", "run"])
    saved = {"model": "gpt", "training_data": ["x.txt"]}
    assert resumed(run, saved, {"mirror": True}).model.mirror is True  # resume keeps the run's value
    assert resumed(run, saved, {}).model.mirror is False  # a run from before the option: its default
    with pytest.raises(UserError, match="--mirror False conflicts with the run being resumed"):
        resumed(parse_settings(["--resume", "run", "--no-mirror"]), saved, {"mirror": True})
    tuned = initialised(parse_settings(["--init_from", "x.pt"]), {"mirror": True}, "char", "x.pt")
    assert tuned.model.mirror is True  # --init_from takes the model's options
    assert "mirror" in parse_settings(["--mirror"]).saved()  # checkpoints keep it
    with_checkpoint = parse_settings(["--checkpoint", "x.pt", "--mirror"])
    assert ignored_training_flags(with_checkpoint) == ["--mirror"]  # and say it is ignored with --checkpoint


@dataclasses.dataclass
class WithLiveSetting(GenerationConfig):
    boldness: float = setting(1.0, "a test setting", live=("repl", "web"))


def test_a_new_generation_setting_reaches_set_and_the_web_form(tmp_path):
    tok = CharTokenizer("abc \n")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context_length=8, n_embd=8, n_head=1, n_layer=1)).eval()
    out = io.StringIO()
    session = Session(model, tok, WithLiveSetting(max_new_tokens=3), None, out=out)
    Repl(session, tmp_path).run(io.StringIO(":set boldness 2.5\n:settings\n:set boldness nan\n"))
    assert session.config.boldness == 2.5 and "boldness 2.5" in out.getvalue()
    assert "error: boldness must be a finite number, got nan" in out.getvalue()
    web = WebGenerator(model, tok, None, WithLiveSetting(max_new_tokens=3), tmp_path, lambda c: "", "m")
    assert web.config_for({"boldness": "0.5"}).boldness == 0.5
    with pytest.raises(UserError, match="boldness expected a float"):
        web.config_for({"boldness": "abc"})
    assert 'id="boldness"' in render_page("m", web_settings(WithLiveSetting()), WithLiveSetting())


def test_resume_extends_free_settings_and_refuses_fixed_ones():
    saved = {"model": "gpt", "training_data": ["x.txt"], "epochs": 2, "lr": 0.01, "batch_size": 4, "seed": 5}
    model = {"n_embd": 32, "n_head": 2, "n_layer": 1, "context_length": 16}
    merged = resumed(parse_settings(["--resume", "run", "--epochs", "4"]), saved, model)
    assert (merged.train.epochs, merged.train.lr, merged.train.batch_size, merged.train.seed) == (4, 0.01, 4, 5)
    assert merged.generation.seed == 5 and merged.model.n_embd == 32
    assert resumed(parse_settings(["--resume", "run"]), saved, model).train.epochs == 2
    with pytest.raises(UserError, match="--lr 0.5 conflicts"):
        resumed(parse_settings(["--resume", "run", "--lr", "0.5"]), saved, model)
    assert resumed(parse_settings(["--resume", "run", "--lr", "0.01"]), saved, model).train.lr == 0.01  # same: fine
