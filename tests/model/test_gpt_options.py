"""The modern model options: shapes, causal masking, KV-cache exactness (also past the context with RoPE),
checkpoint round trips, and older configs building the same model as before."""

import pytest
import torch
from torch.nn import functional as F

from moviegpt.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint, save_checkpoint
from moviegpt.errors import UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.search import generate_ids
from moviegpt.kv_cache import KVCache
from moviegpt.model import GPT, GPTConfig, ReLUSquared, RotaryTables, offset_keys, rotate
from moviegpt.tokenizer.char import CharTokenizer

OPTIONS = {
    "rope": {"position": "rope"},
    "rmsnorm": {"norm": "rmsnorm"},
    "qk_norm": {"qk_norm": True},
    "relu2": {"activation": "relu2"},
    "zero_init": {"zero_init": True, "tie_weights": False},
    "untied": {"tie_weights": False},
    "softcap": {"logit_softcap": 5.0},
    "bigram": {"bigram_logits": True},
    "smear": {"smear": True},
    "key_offset": {"key_offset": True},  # learned positions
    "key_offset_rope": {"key_offset": True, "position": "rope"},
    "copy_path": {"copy_path": True},
    "copy_path_rope": {"copy_path": True, "position": "rope", "key_offset": True},
    "all": {
        "smear": True,
        "key_offset": True,
        "position": "rope",
        "norm": "rmsnorm",
        "qk_norm": True,
        "activation": "relu2",
        "zero_init": True,
        "tie_weights": False,
        "logit_softcap": 15.0,
        "bigram_logits": True,
        "copy_path": True,
    },
}


def model(context_length: int = 12, seed: int = 0, n_layer: int = 2, **options) -> GPT:
    torch.manual_seed(seed)
    gpt = GPT(
        GPTConfig(
            vocab_size=11, context_length=context_length, n_embd=16, n_head=2, n_layer=n_layer, dropout=0.0, **options
        )
    )
    for p in gpt.parameters():  # zero-initialised weights would hide mistakes: give every weight a value
        torch.nn.init.normal_(p, std=0.3)
    return gpt.eval()


@pytest.mark.parametrize("name", OPTIONS)
def test_shapes_and_loss(name):
    gpt = model(**OPTIONS[name])
    idx = torch.randint(0, 11, (3, 12))
    logits, loss = gpt(idx, idx)
    assert logits.shape == (3, 12, 11) and loss.ndim == 0 and torch.isfinite(loss)


@pytest.mark.parametrize("name", OPTIONS)
def test_the_future_never_changes_the_past(name):
    gpt = model(**OPTIONS[name])
    idx = torch.randint(0, 11, (1, 12))
    changed = idx.clone()
    changed[0, 7:] = (changed[0, 7:] + 1) % 11
    assert torch.allclose(gpt(idx)[0][:, :7], gpt(changed)[0][:, :7], atol=1e-5)
    assert not torch.allclose(gpt(idx)[0][:, 7:], gpt(changed)[0][:, 7:], atol=1e-5)


@pytest.mark.parametrize("name", OPTIONS)
def test_cached_steps_equal_a_full_forward_pass(name):
    gpt = model(**OPTIONS[name])
    idx = torch.randint(0, 11, (2, 12))
    cache = gpt.new_cache(2, torch.device("cpu"), torch.float32)
    pieces = [gpt(idx[:, :5], cache=cache)[0]] + [gpt(idx[:, t : t + 1], cache=cache)[0] for t in range(5, 12)]
    assert torch.allclose(torch.cat(pieces, dim=1), gpt(idx)[0], atol=1e-5)


def test_the_key_offset_takes_the_slow_half_of_each_key_from_the_previous_position():
    k = torch.randn(2, 3, 5, 8)
    shifted = offset_keys(k)
    slow = [2, 3, 6, 7]  # the slower-turning half of the rotary pairs (d, d + 4): d = 2, 3
    assert torch.equal(shifted[:, :, 1:, slow], k[:, :, :-1, slow])
    assert torch.equal(shifted[:, :, :, [0, 1, 4, 5]], k[:, :, :, [0, 1, 4, 5]])
    assert torch.equal(shifted[:, :, 0], k[:, :, 0])  # the first position has no previous one
    padded = offset_keys(k, first=torch.tensor([0, 2]))  # row 1's first two slots are padding
    assert torch.equal(padded[1, :, :3], k[1, :, :3]) and torch.equal(padded[1, :, 3:, slow], k[1, :, 2:-1, slow])


def lookup_loss(steps: int = 150, **options) -> float:
    """A one-layer model reads 10 distinct tokens, then pairs (a, the token that followed a): its loss on the second
    of each pair, which only a lookup of "what came after a" can predict (a's position varies)."""
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=16, context_length=16, n_embd=32, n_head=2, n_layer=1, dropout=0.0,
                       position="rope", norm="rmsnorm", **options)  # fmt: skip
    gpt = GPT(config)
    optimizer = torch.optim.AdamW(gpt.parameters(), lr=1e-2)
    for _ in range(steps):
        prefix = torch.stack([torch.randperm(16)[:10] for _ in range(64)])
        asked = torch.randint(0, 9, (64, 3))
        pairs = torch.stack([prefix.gather(1, asked), prefix.gather(1, asked + 1)], dim=2).view(64, 6)
        idx = torch.cat([prefix, pairs], dim=1)
        logits, _ = gpt(idx[:, :-1])
        loss = F.cross_entropy(logits[:, 10::2].reshape(-1, 16), idx[:, 11::2].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def test_the_key_offset_lets_one_layer_look_up_what_came_next():
    """Induction (after a comes what followed a before) needs two layers; with the key offset one layer learns it."""
    assert lookup_loss(key_offset=True) < 0.5 < lookup_loss(key_offset=False)


def test_the_copy_path_lets_one_layer_look_up_what_came_next():
    """The pointer proposes what followed an earlier position like this one: one layer learns the lookup."""
    assert lookup_loss(copy_path=True) < 0.5


def test_the_copy_path_mixes_a_distribution_of_tokens_that_followed_earlier_positions():
    """The output is a distribution (log-probabilities); with the gate open, all of it lies on tokens the context
    holds so far (the current one included), none on a token it never had or has not reached yet."""
    gpt = model(copy_path=True)
    idx = torch.tensor([[1, 2, 3, 2, 4, 5, 6, 2, 3, 1, 2, 4]])
    assert torch.allclose(gpt(idx)[0].exp().sum(-1), torch.ones(1, 12), atol=1e-5)
    with torch.no_grad():
        gpt.copy.gate.bias.fill_(50.0)
    probs = gpt(idx)[0].exp()[0]
    for t in range(12):
        seen = set(idx[0, : t + 1].tolist())
        assert probs[t, sorted(seen)].sum() > 0.999, t
    assert probs[:, [0, 7, 8, 9, 10]].max() < 1e-3 and probs[:4, [5, 6]].max() < 1e-3


def test_rope_cache_slide_equals_a_window_recompute_in_one_layer():
    """With one layer a cached key depends only on its own token and position, so a slid cache is exactly a fresh
    encoding of the window (with more layers, older positions keep what they saw of tokens that slid out, as in
    sliding-window attention)."""
    gpt = model(context_length=8, position="rope", qk_norm=True, n_layer=1)
    idx = torch.randint(0, 11, (1, 14))
    cache = gpt.new_cache(1, torch.device("cpu"), torch.float32)
    gpt(idx[:, :8], cache=cache)
    for t in range(8, 14):
        cache.slide(1)
        cached = gpt(idx[:, t : t + 1], cache=cache)[0][0, -1]
        assert torch.allclose(cached, gpt(idx[:, t - 7 : t + 1])[0][0, -1], atol=1e-5)
    assert cache.offset == 6 and cache.length == 8


def test_rope_generation_goes_on_past_the_context_by_sliding(monkeypatch):
    gpt = model(context_length=8, **OPTIONS["all"])
    reencoded = []
    monkeypatch.setattr(KVCache, "slide", lambda self, n, slide=KVCache.slide: (reencoded.append(n), slide(self, n)))
    ids = generate_ids(gpt, [1, 2, 3], GenerationConfig(max_new_tokens=40, num_samples=2))
    # every step after the cache is full, but the last (its logits are not needed)
    assert [len(row) for row in ids] == [40, 40] and len(reencoded) == 40 - (8 - 3) - 1


def test_checkpoint_round_trip_keeps_every_option(tmp_path):
    gpt = model(**OPTIONS["all"])
    tok = CharTokenizer("abcdefghijk")
    save_checkpoint(tmp_path / "c.pt", Checkpoint(gpt.config.to_dict(), tok.to_dict(), gpt.state_dict()))
    again, _ = model_from_checkpoint(load_checkpoint(tmp_path / "c.pt"))
    idx = torch.randint(0, 11, (1, 12))
    assert again.config == gpt.config and torch.equal(again.eval()(idx)[0], gpt(idx)[0])


def test_an_older_config_builds_the_model_it_always_built():
    legacy = {
        "vocab_size": 11,
        "context_length": 12,
        "n_embd": 16,
        "n_head": 2,
        "n_layer": 2,
        "dropout": 0.0,
        "bias": True,
        "attention_scale": "head_size",
        "activation": "gelu",
        "tie_weights": True,
        "head_bias": False,
    }
    gpt = GPT(GPTConfig(**legacy))
    names = set(gpt.state_dict())
    assert "position_embedding.weight" in names and not any(n.startswith("bigram") for n in names)
    assert isinstance(gpt.blocks[0].ln_1, torch.nn.LayerNorm) and gpt.lm_head.weight is gpt.token_embedding.weight


@pytest.mark.parametrize(
    "options, field",
    [
        ({"position": "alibi"}, "position"),
        ({"norm": "batchnorm"}, "norm"),
        ({"activation": "swish"}, "activation"),
        ({"logit_softcap": -1.0}, "logit_softcap"),
        ({"position": "rope", "n_embd": 18, "n_head": 6}, "n_head"),
    ],
)
def test_bad_options_name_their_field(options, field):
    base = {"vocab_size": 11, "n_embd": 16, "n_head": 2, **options}
    with pytest.raises(UserError, match=f"^{field} "):
        GPTConfig(**base)


def test_relu_squared_and_its_gradient_are_autograds():
    """The fused ReLU² (one saved tensor, one backward step) computes what relu(x).square() and autograd do."""
    x = torch.randn(4, 7, 16, requires_grad=True)
    y = x.detach().clone().requires_grad_()
    grad = torch.randn(4, 7, 16)
    ReLUSquared.apply(x).backward(grad)
    F.relu(y).square().backward(grad)
    assert torch.allclose(ReLUSquared.apply(x), F.relu(y).square()) and torch.allclose(x.grad, y.grad)


def test_rotary_tables_give_the_angles_computed_anew():
    """cos and sin looked up in tables made once equal those computed from the positions (full width, sin signed
    so that a rotation is x cos + swap(x) sin), also past the first table's length and per row (padded rows)."""
    tables, half, base = RotaryTables(8, 10000.0), 4, 10000.0
    for positions in (torch.arange(5), torch.arange(300, 310), torch.tensor([[0, 1, 2], [0, 0, 1]])):
        angles = positions.float().unsqueeze(-1) * base ** (-torch.arange(half).float() / half)
        cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([-angles.sin(), angles.sin()], -1)
        expected = (cos, sin) if positions.dim() == 1 else (cos[:, None], sin[:, None])
        got = tables(positions, int(positions.max()) + 1)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
    x, (cos, sin) = torch.randn(2, 3, 5, 8), tables(torch.arange(5), 5)
    x1, x2, c, s = x[..., :4], x[..., 4:], cos[:, :4], sin[:, 4:]
    assert torch.equal(rotate(x, cos, sin), torch.cat((x1 * c - x2 * s, x1 * s + x2 * c), -1))


@pytest.mark.parametrize("options", [{}, {"position": "rope", "key_offset": True}])
def test_the_copy_path_of_a_left_padded_row_is_that_of_the_row_alone(options):
    """Padding is no candidate, and a row's first real token keeps its own key, as slot 0 does alone."""
    gpt = model(copy_path=True, **options)
    short, other = torch.tensor([[3, 1, 4, 1, 5, 9, 2]]), torch.tensor([[2, 7, 1, 8, 2, 8, 1, 8, 2, 8]])
    cache = gpt.new_cache(2, torch.device("cpu"), torch.float32)
    cache.pad = torch.tensor([3, 0])
    together = gpt(torch.cat([torch.cat([torch.zeros(1, 3, dtype=torch.long), short], 1), other]), cache=cache)[0]
    assert torch.allclose(together[0, 3:], gpt(short)[0][0], atol=1e-5)
    assert torch.allclose(together[1], gpt(other)[0][0], atol=1e-5)


def test_a_reordered_cache_takes_every_per_row_value_along():
    """Beam search reorders the cache's rows: the smear's previous embedding, the key offset's last own key and the
    copy path's keys and tokens go with their row (before, a reordered row read another row's previous token)."""
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=12, context_length=16, n_embd=16, n_head=2, n_layer=2, position="rope",
                        smear=True, key_offset=True, copy_path=True)).eval()  # fmt: skip
    with torch.no_grad():
        gpt.smear_lambda.fill_(1.0)
        cache = gpt.new_cache(2, torch.device("cpu"), torch.float32)
        gpt(torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]]), cache=cache)
        cache.reorder(torch.tensor([1, 1]))
        both = gpt(torch.tensor([[9], [9]]), cache=cache)[0][:, -1]
        alone = gpt(torch.tensor([[5, 6, 7, 8, 9]]))[0][0, -1]
    assert torch.allclose(both[0], alone, atol=1e-5) and torch.allclose(both[1], alone, atol=1e-5)
