"""Classifier-free guidance for a title, and the left-padded batches it decodes in."""

import pytest
import torch

from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.generate import generate
from moviegpt.generation.search import IncrementalModel, prompt_batch
from moviegpt.model import GPT, GPTConfig
from moviegpt.records import RecordFormat
from moviegpt.tokenizer.char import CharTokenizer

FMT = RecordFormat()
TOK = CharTokenizer(FMT.title_prompt("The Moon Baker Tea") + "abcdefghijklmnopqrstuvwxyz .\n_")
PROMPT = FMT.title_prompt("The Moon Baker")
WITHOUT = FMT.without_title(PROMPT)


def model(**options) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=TOK.vocab_size, context_length=96, n_embd=32, n_head=2, n_layer=2, dropout=0.0)
    gpt = GPT(GPTConfig(**{**config.to_dict(), **options}))
    for p in gpt.parameters():  # weights of some size, so that every position and option matters
        torch.nn.init.normal_(p, std=1.0)
    return gpt.eval()


def run(gpt, **settings) -> str:
    config = GenerationConfig(max_new_tokens=40, stop=[], **settings)
    return generate(gpt, TOK, PROMPT, config, unconditional=WITHOUT)[0]


def test_without_title_leaves_the_title_out():
    assert WITHOUT == "The description of the movie named '' is:\n"
    assert FMT.without_title(PROMPT + "A baker.") == WITHOUT + "A baker."
    assert FMT.without_title("Once upon a time") is None


@pytest.mark.parametrize(
    "options, steps",
    [
        ({"position": "rope"}, 70),  # past the context: the cache slides its padding out first
        ({"position": "rope", "smear": True}, 70),
        ({"position": "rope", "key_offset": True}, 70),
        ({"position": "rope", "key_offset": True, "copy_path": True}, 70),
        ({"copy_path": True}, 40),
        ({}, 40),  # learned positions: until the batch re-encodes its window (the longest row's)
    ],
)
def test_a_left_padded_row_decodes_as_it_would_alone(options, steps):
    gpt, prompts = model(**options), [TOK.encode(PROMPT), TOK.encode(WITHOUT)]
    together = IncrementalModel(gpt, 2)
    logits = together.start(*prompt_batch(prompts, torch.device("cpu")))
    alone = [IncrementalModel(gpt, 1) for _ in prompts]
    singles = [lm.start(torch.tensor([p])) for lm, p in zip(alone, prompts)]
    for _ in range(steps):
        for row in range(2):
            assert torch.allclose(logits[row], singles[row][0], atol=1e-4)
        token = logits[0].argmax()
        logits = together.advance(token.repeat(2))
        singles = [lm.advance(token[None]) for lm in alone]


def test_scale_one_is_plain_sampling_bit_for_bit():
    gpt = model(position="rope")
    plain = generate(gpt, TOK, PROMPT, GenerationConfig(max_new_tokens=40, stop=[], seed=5))[0]
    assert run(gpt, seed=5, guidance_scale=1.0) == plain


def test_scale_zero_is_the_branch_without_the_title():
    gpt = model(position="rope")
    alone = generate(gpt, TOK, WITHOUT, GenerationConfig(max_new_tokens=40, stop=[], decode="greedy"))[0]
    assert run(gpt, decode="greedy", guidance_scale=0.0) == alone
    assert run(gpt, seed=2, guidance_scale=3.0) != run(gpt, seed=2, guidance_scale=1.0)  # it does steer


def test_both_branches_share_one_batched_forward_pass(monkeypatch):
    gpt, batches = model(), []
    forward = GPT.forward

    def counted(self, idx, *args, **kwargs):
        batches.append(idx.shape[0])
        return forward(self, idx, *args, **kwargs)

    monkeypatch.setattr(GPT, "forward", counted)
    run(gpt, num_samples=3, guidance_scale=2.0)
    assert batches == [6] * 40  # one pass per token, 3 rows with the title and 3 without
