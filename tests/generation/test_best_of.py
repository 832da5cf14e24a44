"""One title request decides a generation (its prompt, the prompt without its title, the guidance, best_of), and
best_of K keeps the sampled plot its title explains best."""

import io
import random

import pytest

from moviegpt.cli.interactive import Repl, Session
from moviegpt.cli.main import main
from moviegpt.errors import ConfigError
from moviegpt.generation.best_of import Generated, choose, describe_candidates, title_bits
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.generate import generate, generate_request
from moviegpt.generation.request import title_request
from moviegpt.records import RecordFormat
from tests.helpers import copying_corpus, trained

FMT = RecordFormat()


def test_a_title_becomes_the_record_start_and_its_twin_without_the_title():
    request = title_request(GenerationConfig(), FMT, title="Rain")
    assert request.prompt == FMT.title_prompt("Rain") and request.unconditional == FMT.title_prompt("")
    assert title_request(GenerationConfig(), FMT).prompt == FMT.prefix  # nothing asked: the model invents a title
    assert title_request(GenerationConfig(), None).prompt == ""  # plain text: an empty prompt
    free = title_request(GenerationConfig(), FMT, title_dropout=0.1, prompt="Once")
    assert free.unconditional is None and free.config.guidance_scale == 1.0  # no title to be guided by
    titled = title_request(GenerationConfig(), FMT, prompt=FMT.title_prompt("Rain") + "A")
    assert titled.unconditional == FMT.title_prompt("") + "A"  # a prompt that starts with a title line has one


@pytest.mark.parametrize(
    "settings, dropout, scale",
    [({}, 0.1, 2.0), ({}, 0.0, 1.0), ({"decode": "beam"}, 0.1, 1.0), ({"guidance_scale": 3.0}, 0.0, 3.0)],
)
def test_the_request_decides_the_guidance_a_model_gets(settings, dropout, scale):
    config = GenerationConfig(**settings)
    assert title_request(config, FMT, title_dropout=dropout, title="Rain").config.guidance_scale == scale


def test_best_of_needs_a_title_and_sampling():
    with pytest.raises(ConfigError, match="best_of needs a title"):
        title_request(GenerationConfig(best_of=2), FMT, prompt="Once upon a time")
    with pytest.raises(ConfigError, match="best_of chooses among samples"):
        GenerationConfig(best_of=2, decode="greedy")
    with pytest.raises(ConfigError, match="title must be one line"):
        title_request(GenerationConfig(), FMT, title="two\nlines")


def test_choose_keeps_the_best_of_each_group_and_the_others_below_it():
    results = choose(["a", "b", "c", "d"], [1.0, 3.0, -2.0, -1.0], best_of=2)
    assert [r.text for r in results] == ["b", "d"]
    assert [c.bits for c in results[0].candidates] == [3.0, 1.0]
    lines = describe_candidates(results[0]).splitlines()
    assert lines[1].startswith("# best of 2: the title saves this plot +3.0 bits") and lines[2] == "# [+1.0 bits] a"
    assert describe_candidates(Generated("plain")) == ""


@pytest.fixture(scope="module")
def copier(tmp_path_factory):
    """A tiny model trained on plots that repeat their own title."""
    return trained(copying_corpus(600, False, seed=0), tmp_path_factory.mktemp("copier"))


def test_the_title_explains_the_plot_that_copies_it(copier):
    model, tok = copier
    rng = random.Random(5)
    for _ in range(5):
        title, other = ("".join(rng.choice("abcdefghij") for _ in range(3)) for _ in range(2))
        texts = [f"{other} and {other}.", f"{title} and {title}."]
        bits = title_bits(model, tok, FMT.title_prompt(title), FMT.title_prompt(""), texts)
        assert bits[1] > bits[0] + 5, (title, other, bits)  # a copy of the title is what the title explains
        (chosen,) = choose(texts, bits, best_of=2)
        assert chosen.text == texts[1]


def test_best_of_1_is_plain_sampling_bit_for_bit(copier):
    model, tok = copier
    config = GenerationConfig(max_new_tokens=30, stop=[], seed=3, num_samples=2, guidance_scale=2.0)
    request = title_request(config, FMT, title="abc")
    plain = generate(model, tok, request.prompt, config, unconditional=request.unconditional)
    assert [r.text for r in generate_request(model, tok, request)] == plain


def test_best_of_with_num_samples_and_guidance_in_one_batch(copier, monkeypatch):
    model, tok = copier
    batches = []
    forward = type(model).forward
    monkeypatch.setattr(
        type(model), "forward", lambda self, idx, *a, **k: batches.append(len(idx)) or forward(self, idx, *a, **k)
    )
    config = GenerationConfig(max_new_tokens=8, stop=[FMT.end], num_samples=2, best_of=3, guidance_scale=2.0)
    results = generate_request(model, tok, title_request(config, FMT, title="abc"))
    assert len(results) == 2 and all(len(r.candidates) == 3 for r in results)
    assert set(batches) == {2 * 3 * 2}  # N results x K candidates, each with its twin without the title; scored so


def test_the_repl_sets_best_of_and_saves_every_candidate(copier, tmp_path):
    model, tok = copier
    out = io.StringIO()
    session = Session(model, tok, GenerationConfig(max_new_tokens=12, stop=[FMT.end]), FMT, out=out)
    path = Repl(session, tmp_path).run(io.StringIO(":set best_of 4\n:title abc\nplain\n"))
    saved = path.read_text(encoding="utf-8")
    assert "best_of 4" in saved.splitlines()[0] and "# best of 4: the title saves this plot" in saved
    assert saved.count("\n# [") == 3  # the three others, each with its score
    assert "best_of needs a title" in out.getvalue()  # a prompt without a title: a message, the loop goes on
    assert "# best of" not in session.last_movies  # what :poster draws: the chosen movie alone


def test_best_of_on_the_command_line(tiny_checkpoint, tmp_path, capsys):
    common = ["--checkpoint", str(tiny_checkpoint), "--max_new_tokens", "20", "--disable-typewriter"]
    assert main([*common, "--title", "Moon", "--best_of", "3", "--outputs_dir", str(tmp_path / "a")]) == 0
    (saved,) = (tmp_path / "a").iterdir()
    text = saved.read_text(encoding="utf-8")
    assert "best_of 3" in text.splitlines()[0] and text.count("\n# [") == 2
    one = ["--title", "Moon", "--seed", "4", "--outputs_dir"]
    assert main([*common, *one, str(tmp_path / "b")]) == 0
    assert main([*common, *one, str(tmp_path / "c"), "--best_of", "1"]) == 0
    assert [p.read_text() for p in (tmp_path / "b").iterdir()] == [p.read_text() for p in (tmp_path / "c").iterdir()]
    capsys.readouterr()
    assert main([*common, "--prompt", "Once", "--best_of", "2", "--outputs_dir", str(tmp_path / "d")]) == 2
    assert "best_of needs a title" in capsys.readouterr().err and not (tmp_path / "d").exists()
    assert main([*common, "--title", "Moon", "--best_of", "2", "--decode", "greedy"]) == 2
