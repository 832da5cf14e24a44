import pickle

import pytest
import torch

from moviegpt.checkpoint import (
    Checkpoint,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from moviegpt.errors import UserError
from moviegpt.files import atomic_write
from moviegpt.model import GPT, GPTConfig
from moviegpt.tokenizer.char import CharTokenizer


def make_state() -> tuple[GPT, Checkpoint]:
    torch.manual_seed(1)
    tok = CharTokenizer("abcdefgh 世界")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context_length=8, n_embd=16, n_head=2, n_layer=1, dropout=0.0))
    return model, Checkpoint(
        model_config=model.config.to_dict(),
        tokenizer=tok.to_dict(),
        model=model.state_dict(),
        train_args={"lr": 0.1, "top_k": None, "name": "x"},
    )


def test_round_trip_gives_identical_logits(tmp_path):
    model, state = make_state()
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    again, tok = model_from_checkpoint(loaded)
    idx = torch.tensor([tok.encode("abc世界")])
    assert torch.equal(model.eval()(idx)[0], again.eval()(idx)[0])
    assert tok.chars == CharTokenizer("abcdefgh 世界").chars
    assert loaded.train_args["name"] == "x"
    # loadable by anyone with the safe loader
    torch.load(tmp_path / "c.pt", weights_only=True)


def test_compiled_model_prefix_is_accepted(tmp_path):
    model, state = make_state()
    state.model = {f"_orig_mod.{k}": v for k, v in state.model.items()}
    save_checkpoint(tmp_path / "c.pt", state)
    again, _ = model_from_checkpoint(load_checkpoint(tmp_path / "c.pt"))
    assert torch.equal(again.lm_head.weight, model.lm_head.weight)


def test_truncated_checkpoint_is_refused(tmp_path):
    _, state = make_state()
    save_checkpoint(tmp_path / "c.pt", state)
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated"):
        load_checkpoint(tmp_path / "cut.pt")


@pytest.mark.parametrize("content", [b"just some text\n", b""])
def test_non_checkpoint_file_is_refused(tmp_path, content):
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(UserError, match="checkpoint"):
        load_checkpoint(tmp_path / "x.pt")


def test_foreign_torch_file_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="another tool"):
        load_checkpoint(tmp_path / "other.pt")


class _Evil:
    """Unpickling this would create a file (open(path, "w")): the safe loader must never run it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("protocol", [2, 4])
def test_pickle_with_code_is_refused_and_nothing_runs(tmp_path, protocol):
    """Protocol 2 (torch's own) names what it would have loaded; protocol 4's frames are no PyTorch file at all."""
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump(_Evil(tmp_path / "pwned"), f, protocol=protocol)
    expected = "not a loadable.*it would load .*open; nothing of it was run" if protocol == 2 else "not a PyTorch file"
    with pytest.raises(UserError, match=expected):
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("content", [b"hello, a text file\n", bytes(range(256)) * 20])
def test_text_or_random_bytes_named_pt_are_not_a_pytorch_file(tmp_path, content):
    """torch's own message for these advises weights_only=False, which would run whatever the file holds."""
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(UserError) as error:
        load_checkpoint(tmp_path / "x.pt")
    assert str(error.value) == f"checkpoint is truncated or not a PyTorch file: {tmp_path / 'x.pt'}"


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "keep.pt"
    target.write_bytes(b"previous")

    def explode(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, explode)
    assert target.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [target]
