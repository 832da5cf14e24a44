"""Checkpoints of the original MovieGPT: detected, converted exactly, generated from, converted to ours."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from moviegpt.checkpoint import load_checkpoint, model_from_checkpoint
from moviegpt.cli.main import main
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.search import generate_ids
from tests.helpers import SHARED_DATA, TINY_TEXT

ORIGINAL = SHARED_DATA / "moviegpt_original"


class Head(nn.Module):
    """The original's attention head, written from its description (scores scaled by n_embd, not head size)."""

    def __init__(self, n_embd: int, head_size: int, context: int):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(context, context)))

    def forward(self, x):
        time, channels = x.shape[1], x.shape[2]
        scores = self.query(x) @ self.key(x).transpose(-2, -1) * channels**-0.5
        scores = scores.masked_fill(self.tril[:time, :time] == 0, float("-inf"))
        return F.softmax(scores, dim=-1) @ self.value(x)


class MultiHead(nn.Module):
    def __init__(self, n_embd, n_head, context):
        super().__init__()
        self.heads = nn.ModuleList(Head(n_embd, n_embd // n_head, context) for _ in range(n_head))
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))


class FeedForward(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        return self.net(x)


class OriginalBlock(nn.Module):
    def __init__(self, n_embd, n_head, context):
        super().__init__()
        self.sa, self.ffwd = MultiHead(n_embd, n_head, context), FeedForward(n_embd)
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


class OriginalGPT(nn.Module):
    def __init__(self, vocab, n_embd=24, n_head=3, n_layer=2, context=16):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab, n_embd)
        self.positional_embedding = nn.Embedding(context, n_embd)
        self.blocks = nn.Sequential(*(OriginalBlock(n_embd, n_head, context) for _ in range(n_layer)))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab)

    def forward(self, idx):
        x = self.token_embedding_table(idx) + self.positional_embedding(torch.arange(idx.shape[1]))
        return self.lm_head(self.ln_f(self.blocks(x)))


@pytest.fixture
def original_files(tmp_path):
    """A small original-layout checkpoint (random weights) and the text that defines its vocabulary."""
    text = tmp_path / "training_text.txt"
    text.write_text(TINY_TEXT, encoding="utf-8")
    torch.manual_seed(3)
    model = OriginalGPT(len(set(TINY_TEXT))).eval()
    torch.save(model.state_dict(), tmp_path / "original.pth")
    return model, tmp_path / "original.pth", text


def test_converted_model_gives_the_original_logits(original_files):
    original, checkpoint, text = original_files
    state = load_checkpoint(checkpoint, text)
    assert state.model_config["n_head"] == 3 and state.model_config["context_length"] == 16
    model, tokenizer = model_from_checkpoint(state)
    ids = torch.tensor([tokenizer.encode(TINY_TEXT[:16])])
    with torch.no_grad():
        assert (model.eval()(ids)[0] - original(ids)).abs().max() < 1e-5


def test_kv_cached_generation_of_a_converted_model_matches_full_recomputation(original_files):
    original, checkpoint, text = original_files
    model, tokenizer = model_from_checkpoint(load_checkpoint(checkpoint, text))
    prompt = tokenizer.encode("The")  # 3 + 12 characters: within the context, so no window shift
    (ids,) = generate_ids(
        model.eval(),
        prompt,
        GenerationConfig(decode="greedy", max_new_tokens=12),
        lambda ids: False,
        lambda row, token: None,
    )
    sequence = list(prompt)
    with torch.no_grad():
        for _ in range(12):
            sequence.append(int(original(torch.tensor([sequence[-16:]]))[0, -1].argmax()))
    assert ids == sequence[len(prompt) :]


@pytest.mark.skipif(not ORIGINAL.is_dir(), reason=f"{ORIGINAL} is absent (the original's own checkpoint)")
def test_the_original_checkpoint_reproduces_its_reference_logits():
    reference = torch.load(ORIGINAL / "reference_logits.pt", weights_only=True)
    state = load_checkpoint(ORIGINAL / "checkpoint_tiny_epoch1.pth", ORIGINAL / "training_text.txt")
    model, tokenizer = model_from_checkpoint(state)
    ids = torch.tensor(tokenizer.encode(reference["prompt"]))
    assert torch.equal(ids, reference["input_ids"])
    with torch.no_grad():
        logits = model.eval()(ids[None])[0][0]
    assert (logits - reference["logits"]).abs().max() < 1e-4


def test_command_line_generates_converts_and_explains(original_files, tmp_path, monkeypatch, capsys):
    _, checkpoint, text = original_files
    monkeypatch.chdir(tmp_path)
    generate = ["--prompt", "The", "--max_new_tokens", "10", "--disable-typewriter"]
    assert main(["--checkpoint", str(checkpoint), "--training_data", str(text), *generate]) == 0
    assert main(["--checkpoint", str(checkpoint), *generate]) == 2
    assert "original MovieGPT, which stores no vocabulary: add --training_data" in capsys.readouterr().err
    (tmp_path / "other.txt").write_text("just a few letters", encoding="utf-8")
    assert main(["--checkpoint", str(checkpoint), "--training_data", "other.txt", *generate]) == 2
    assert "distinct characters but" in capsys.readouterr().err
    assert main(["--checkpoint", str(checkpoint), "--training_data", str(text), "--convert", "ours.pt"]) == 0
    text.unlink()  # the converted checkpoint needs the text no more
    assert main(["--checkpoint", "ours.pt", *generate]) == 0
    assert main(["--checkpoint", "ours.pt", "--evaluate", str(tmp_path / "other.txt")]) == 0
    assert main(["--resume", str(checkpoint)]) == 2
    assert "holds no training state to resume" in capsys.readouterr().err
