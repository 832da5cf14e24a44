import io

import pytest
import torch

from moviegpt.errors import UserError
from moviegpt.model import GPT, GPTConfig
from moviegpt.sampling import GenerationConfig, generate_text, sample_next, save_output, stream
from moviegpt.tokenizer import CharTokenizer

CPU = torch.device("cpu")
TOK = CharTokenizer.from_text("abcdefgh \n")


def random_model() -> GPT:
    torch.manual_seed(3)
    return GPT(GPTConfig(vocab_size=TOK.vocab_size, context_length=8, n_embd=16, n_head=2, n_layer=1, dropout=0.0))


def generate(model, prompt="abc", **config) -> str:
    return "".join(generate_text(model, TOK, prompt, GenerationConfig(**config), CPU, torch.float32))


def test_same_seed_same_text_other_seed_other_text():
    model = random_model()
    a = generate(model, max_new_tokens=40, seed=1)
    assert a == generate(model, max_new_tokens=40, seed=1)
    assert a != generate(model, max_new_tokens=40, seed=2)
    assert len(a) == 40


def test_generation_runs_past_the_context_length():
    assert len(generate(random_model(), max_new_tokens=30)) == 30  # context_length is 8


def test_top_k_one_is_the_argmax():
    logits = torch.tensor([[0.1, 2.0, 1.9, -1.0]])
    gen = torch.Generator().manual_seed(0)
    picks = {int(sample_next(logits, GenerationConfig(top_k=1), gen)) for _ in range(20)}
    assert picks == {1}


def test_top_k_larger_than_vocabulary_is_clipped():
    logits = torch.tensor([[0.1, 2.0]])
    assert int(sample_next(logits, GenerationConfig(top_k=50), torch.Generator())) in (0, 1)


def test_low_temperature_concentrates_on_the_best_token():
    logits = torch.tensor([[1.0, 1.5, 0.5]])
    gen = torch.Generator().manual_seed(0)
    picks = [int(sample_next(logits, GenerationConfig(temperature=0.01), gen)) for _ in range(50)]
    assert set(picks) == {1}


@pytest.mark.parametrize("config, message", [
    ({"temperature": 0}, "temperature"), ({"temperature": -1}, "temperature"),
    ({"top_k": 0}, "top_k"), ({"max_new_tokens": -1}, "max_new_tokens"),
])
def test_bad_settings_are_refused(config, message):
    with pytest.raises(UserError, match=message):
        GenerationConfig(**config)


def test_empty_prompt_generates():
    assert len(generate(random_model(), prompt="", max_new_tokens=10)) == 10


def test_unknown_prompt_character_fails_before_anything_is_generated():
    with pytest.raises(UserError, match="'z'"):
        generate_text(random_model(), TOK, "abz", GenerationConfig(), CPU, torch.float32)


@pytest.mark.parametrize("typewriter", [True, False])
def test_stream_prints_the_text_once(typewriter):
    out = io.StringIO()
    text = stream("Title: ", iter(["a", "b", "c"]), typewriter=typewriter, out=out)
    assert text == "Title: abc"
    assert out.getvalue() == "Title: abc\n"


def test_save_output_never_overwrites(tmp_path):
    first = save_output("first", tmp_path / "outputs")
    second = save_output("second ünïcode 世界", tmp_path / "outputs")
    assert first != second
    assert first.read_text(encoding="utf-8") == "first"
    assert second.read_text(encoding="utf-8") == "second ünïcode 世界"
    assert first.name.startswith("output_") and first.suffix == ".txt"
