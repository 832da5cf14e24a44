import pytest
import torch

from moviegpt.errors import UserError
from moviegpt.model import GPT, GPTConfig


def tiny_config(**overrides) -> GPTConfig:
    values = dict(vocab_size=20, context_length=16, n_embd=32, n_head=4, n_layer=2, dropout=0.0)
    return GPTConfig(**{**values, **overrides})


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"n_embd": 30, "n_head": 4}, "divisible"),
        ({"n_layer": 0}, "n_layer must be >= 1"),
        ({"context_length": -1}, "context_length must be >= 1"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
    ],
)
def test_bad_config_is_refused(overrides, message):
    with pytest.raises(UserError, match=message):
        tiny_config(**overrides)


def test_causality_later_tokens_never_change_earlier_logits():
    torch.manual_seed(0)
    model = GPT(tiny_config()).eval()
    idx = torch.randint(0, 20, (1, 16))
    changed = idx.clone()
    changed[0, 10:] = (changed[0, 10:] + 1) % 20
    with torch.no_grad():
        a, _ = model(idx)
        b, _ = model(changed)
    assert torch.allclose(a[0, :10], b[0, :10], atol=1e-6)
    assert not torch.allclose(a[0, 10:], b[0, 10:])


def test_output_head_is_tied_to_token_embedding():
    model = GPT(tiny_config())
    assert model.lm_head.weight is model.token_embedding.weight


def test_attention_is_scaled_by_head_size():
    """The fused attention equals softmax(q k^T / sqrt(head_size)) v computed by hand."""
    torch.manual_seed(0)
    config = tiny_config(n_layer=1)
    attn = GPT(config).blocks[0].attn.eval()
    x = torch.randn(1, 5, 32)
    q, k, v = attn.qkv(x).split(32, dim=2)
    q, k, v = (t.view(1, 5, 4, 8).transpose(1, 2) for t in (q, k, v))
    scores = (q @ k.transpose(-2, -1)) / 8**0.5
    scores = scores.masked_fill(torch.triu(torch.ones(5, 5, dtype=torch.bool), 1), float("-inf"))
    expected = attn.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(1, 5, 32))
    assert torch.allclose(attn(x, None), expected, atol=1e-5)  # (learned positions: no rotary angles)


def test_longer_than_context_is_an_error():
    model = GPT(tiny_config())
    with pytest.raises(ValueError, match="context_length"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_loss_is_near_log_vocab_at_init():
    torch.manual_seed(0)
    model = GPT(tiny_config())
    idx, targets = torch.randint(0, 20, (2, 4, 16))
    _, loss = model(idx, targets)
    assert abs(loss.item() - torch.log(torch.tensor(20.0)).item()) < 0.2
