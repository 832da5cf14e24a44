"""Generation: KV cache exactness, decoding strategies, stop strings, streaming."""

import io
import math

import pytest
import torch

from moviegpt.bigram import BigramConfig, BigramLanguageModel
from moviegpt.errors import UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.generate import generate
from moviegpt.generation.outputs import save_output
from moviegpt.generation.sampling import top_p_filter
from moviegpt.generation.search import generate_ids
from moviegpt.generation.stopping import Stopper
from moviegpt.generation.streamers import TerminalStreamer
from moviegpt.model import GPT, GPTConfig
from moviegpt.tokenizer.char import CharTokenizer

TOK = CharTokenizer("abcdefgh \n")


def random_model(context_length: int = 8, seed: int = 3) -> GPT:
    torch.manual_seed(seed)
    config = GPTConfig(
        vocab_size=TOK.vocab_size, context_length=context_length, n_embd=16, n_head=2, n_layer=2, dropout=0.0
    )
    return GPT(config).eval()


class Pieces:
    """A streamer that keeps what it is sent."""

    def __init__(self):
        self.pieces, self.ended = [], []

    def put(self, row, text):
        self.pieces.append((row, text))

    def end(self, row):
        self.ended.append(row)


def run(model, prompt="abc", stops=(), **config) -> list[str]:
    return generate(model, TOK, prompt, GenerationConfig(stop=list(stops), **config))


def test_cached_logits_equal_a_full_forward_pass():
    model = random_model(context_length=16)
    idx = torch.randint(0, TOK.vocab_size, (2, 16))
    full, _ = model(idx)
    cache = model.new_cache(2, torch.device("cpu"), torch.float32)
    pieces = [model(idx[:, :5], cache=cache)[0], model(idx[:, 5:9], cache=cache)[0]]
    pieces += [model(idx[:, t : t + 1], cache=cache)[0] for t in range(9, 16)]
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5)


def reference_greedy(model: GPT, prompt: list[int], steps: int) -> list[int]:
    """The original's loop: a full forward pass over the window for every new character, with the same
    window the cached generator uses after it re-encodes (last 3/4 of the context)."""
    context = model.config.context_length
    ids, start, out = list(prompt), max(0, len(prompt) - context), []
    for _ in range(steps):
        if len(ids) - start > context:
            start = len(ids) - (context - context // 4)
        with torch.no_grad():
            logits, _ = model(torch.tensor([ids[start:]]))
        ids.append(int(logits[0, -1].argmax()))
        out.append(ids[-1])
    return out


@pytest.mark.parametrize("steps", [5, 40])  # 40 runs far past context_length 8: the window is re-encoded
def test_cached_greedy_text_equals_full_recompute(steps):
    model = random_model()
    prompt = TOK.encode("abc")
    got = generate_ids(model, prompt, GenerationConfig(decode="greedy", max_new_tokens=steps))
    assert got == [reference_greedy(model, prompt, steps)]
    if steps <= 5:  # within the context the window is the whole text: the plain full-recompute loop
        ids = list(prompt)
        for _ in range(steps):
            ids.append(int(model(torch.tensor([ids]))[0][0, -1].argmax()))
        assert got[0] == ids[len(prompt) :]


def test_generation_runs_long_past_the_context():
    (text,) = run(random_model(), max_new_tokens=100)
    assert len(text) == 100


def test_same_seed_same_text_other_seed_other_text():
    model = random_model()
    a = run(model, max_new_tokens=40, seed=1)
    assert a == run(model, max_new_tokens=40, seed=1) and a != run(model, max_new_tokens=40, seed=2)


def test_greedy_is_deterministic_and_top_k_one_equals_greedy():
    model = random_model()
    greedy = run(model, decode="greedy", max_new_tokens=30)
    assert greedy == run(model, decode="greedy", max_new_tokens=30, seed=99)
    assert run(model, top_k=1, max_new_tokens=30, seed=5) == greedy


def test_top_k_larger_than_the_vocabulary_is_clipped():
    assert len(run(random_model(), top_k=10_000, max_new_tokens=10)[0]) == 10


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    kept = lambda p: torch.isfinite(top_p_filter(probs.log(), p))[0].tolist()  # noqa: E731
    assert kept(0.5) == [True, False, False, False]
    assert kept(0.6) == [True, True, False, False]
    assert kept(0.8) == [True, True, False, False]
    assert kept(0.81) == [True, True, True, False]
    assert kept(1.0) == [True, True, True, True]


def test_repetition_penalty_changes_the_text():
    model = random_model()
    plain = run(model, decode="greedy", max_new_tokens=30)
    assert run(model, decode="greedy", max_new_tokens=30, repetition_penalty=3.0) != plain


def test_beam_search_with_one_beam_equals_greedy():
    model = random_model()
    greedy = run(model, decode="greedy", max_new_tokens=25)
    assert run(model, decode="beam", num_beams=1, max_new_tokens=25) == greedy


def bigram_with_table(probabilities: torch.Tensor) -> BigramLanguageModel:
    """The bigram baseline with a fixed next-token table: a model whose choice depends on the last token only."""
    model = BigramLanguageModel(BigramConfig(vocab_size=probabilities.shape[0], context_length=64))
    with torch.no_grad():
        model.table.weight.copy_(probabilities.log())
    return model


def test_beam_search_beats_greedy_on_a_myopic_choice():
    vocab = 10
    table = torch.full((vocab, vocab), 1.0 / vocab)
    table[0] = torch.tensor([0, 0.6, 0.4] + [0] * 7) + 1e-9  # from 0: A (1) looks better than B (2) ...
    table[2] = torch.tensor([0, 0, 0, 0.99] + [0.01 / 6] * 6)  # ... but B is followed by a sure thing
    table = table / table.sum(1, keepdim=True)
    model = bigram_with_table(table)
    logp = lambda seq: sum(math.log(table[a, b]) for a, b in zip([0] + seq, seq))  # noqa: E731
    none = (lambda ids: False, lambda row, token: None)
    greedy = generate_ids(model, [0], GenerationConfig(decode="greedy", max_new_tokens=2), *none)[0]
    beam = generate_ids(model, [0], GenerationConfig(decode="beam", num_beams=3, max_new_tokens=2), *none)[0]
    assert greedy[0] == 1 and beam == [2, 3]
    assert logp(beam) > logp(greedy) + 1.0


def test_beam_search_returns_num_samples_distinct_hypotheses():
    texts = run(random_model(), decode="beam", num_beams=4, num_samples=3, max_new_tokens=12)
    assert len(texts) == 3 and len(set(texts)) == 3


@pytest.mark.parametrize(
    "config, message",
    [
        ({"temperature": 0}, "temperature"),
        ({"temperature": -1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": 0}, "top_k"),
        ({"num_beams": 0}, "num_beams"),
        ({"max_new_tokens": -1}, "max_new_tokens"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"temperature": float("inf")}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"repetition_penalty": float("nan")}, "repetition_penalty"),
        ({"decode": "beam", "num_beams": 2, "num_samples": 3}, "num_samples"),
        ({"decode": "nope"}, "decode"),
    ],
)
def test_bad_settings_are_refused(config, message):
    with pytest.raises(UserError, match=message):
        GenerationConfig(**config)


def test_greedy_at_temperature_zero_is_plain_greedy():
    model = random_model()
    greedy = run(model, decode="greedy", max_new_tokens=30)
    assert run(model, decode="greedy", temperature=0, max_new_tokens=30) == greedy
    assert run(model, decode="beam", num_beams=2, temperature=0, max_new_tokens=30)[0]


def test_temperature_changes_what_is_sampled():
    model = random_model()
    texts = {t: run(model, max_new_tokens=60, seed=4, temperature=t)[0] for t in (1e-4, 1.0, 20.0)}
    assert len(set(texts.values())) == 3
    greedy = run(model, decode="greedy", max_new_tokens=60)[0]
    assert texts[1e-4] == greedy  # almost no randomness left: the most likely character each time
    assert len(set(texts[20.0])) > len(set(greedy))  # nearly uniform: many more different characters


def test_each_sample_stops_on_its_own_at_a_stop_string():
    texts = run(random_model(), stops=["a"], num_samples=6, max_new_tokens=60, seed=0)
    assert len(texts) == 6 and all("a" not in t for t in texts)
    assert len({len(t) for t in texts}) > 1  # they stopped at different places
    assert any(len(t) < 60 for t in texts)


def test_stop_string_spanning_several_tokens():
    stopper = Stopper(TOK, ["bad"])
    assert not stopper.is_done(TOK.encode("ggba")) and stopper.is_done(TOK.encode("ggbad"))
    assert stopper.cut("hello bad world") == ("hello ", True)
    assert stopper.safe_length("hello ba") == len("hello ")


def test_streamed_pieces_never_show_a_stop_string():
    model = random_model()
    streamer = Pieces()
    (plain,) = run(model, decode="greedy", max_new_tokens=40)
    stop = plain[10:13]  # a string greedy decoding is known to produce
    config = GenerationConfig(decode="greedy", max_new_tokens=40, stop=[stop])
    (text,) = generate(model, TOK, "abc", config, streamer)
    assert text == plain[: plain.find(stop)] and "".join(piece for _, piece in streamer.pieces) == text
    assert streamer.ended == [0]


def test_empty_prompt_generates():
    assert len(run(random_model(), prompt="", max_new_tokens=10)[0]) == 10


def test_unknown_prompt_character_is_named():
    with pytest.raises(UserError, match="'z'"):
        run(random_model(), prompt="abz")


def test_streamer_prints_samples_in_order_each_as_soon_as_the_earlier_ones_are_done():
    out = io.StringIO()
    printer = TerminalStreamer("P: ", 3, True, out)
    printer.put(0, "a")
    printer.put(2, "z")
    printer.end(2)  # finished while the first is still streaming: waits
    assert out.getvalue() == "--- sample 1 ---\nP: a"
    printer.put(0, "b")
    printer.end(0)
    assert out.getvalue() == "--- sample 1 ---\nP: ab\n"  # sample 3 waits for sample 2
    printer.put(1, "y")
    printer.end(1)
    assert out.getvalue() == "--- sample 1 ---\nP: ab\n--- sample 2 ---\nP: y\n--- sample 3 ---\nP: z\n"
    printer.finish(["ab", "y", "z"])  # nothing is printed twice
    assert out.getvalue().count("P: ") == 3


def test_a_first_sample_that_runs_to_the_limit_ends_its_line_before_the_next_header():
    out = io.StringIO()
    printer = TerminalStreamer("P: ", 3, True, out)
    printer.put(0, "abc")  # never reaches a stop string
    printer.put(2, "z")
    printer.end(2)
    printer.put(1, "y")
    printer.finish(["abc", "y", "z"])
    assert out.getvalue() == "--- sample 1 ---\nP: abc\n--- sample 2 ---\nP: y\n--- sample 3 ---\nP: z\n"


@pytest.mark.parametrize("typewriter", [True, False])
def test_printer_shows_every_sample_once(typewriter):
    out = io.StringIO()
    printer = TerminalStreamer("P: ", 2, typewriter, out)
    for piece in ("a", "b"):
        printer.put(0, piece)
    printer.put(1, "x")
    printer.finish(["ab", "x"])
    assert out.getvalue() == "--- sample 1 ---\nP: ab\n--- sample 2 ---\nP: x\n"


def test_save_output_never_overwrites(tmp_path):
    first = save_output("first", tmp_path / "outputs")
    second = save_output("second ünïcode 世界", tmp_path / "outputs")
    assert first != second and first.read_text(encoding="utf-8") == "first"
    assert second.read_text(encoding="utf-8") == "second ünïcode 世界"
