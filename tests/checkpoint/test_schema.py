"""The checkpoint schema: version 2 keeps the trainer's state under one key; version 1 files still load."""

import pytest
import torch

from moviegpt.checkpoint import (
    Checkpoint,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from moviegpt.checkpoint.schema import V1_TRAINER_KEYS
from moviegpt.errors import UserError
from moviegpt.model import GPT, GPTConfig
from moviegpt.tokenizer.char import CharTokenizer


def weights_only() -> Checkpoint:
    torch.manual_seed(0)
    tok = CharTokenizer("abc ")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context_length=4, n_embd=8, n_head=2, n_layer=1, dropout=0.0))
    return Checkpoint(model_config=model.config.to_dict(), tokenizer=tok.to_dict(), model=model.state_dict())


def test_a_version_1_file_loads_with_its_trainer_state_gathered(tmp_path):
    body = weights_only().to_payload()
    trainer = {
        "optimizer": {"state": {}, "param_groups": []},
        "scaler": {},
        "epoch": 2,
        "epoch_completed": True,
        "step": 40,
        "tokens_seen": 1280,
        "rng": {},
        "train_config": {},
        "metrics": {},
        "wandb_run_id": None,
        "best_val_loss": 1.5,
    }
    assert set(trainer) == set(V1_TRAINER_KEYS)
    torch.save({**body, "version": 1, **trainer, "train_args": {"lr": 0.1}}, tmp_path / "v1.pt")
    loaded = load_checkpoint(tmp_path / "v1.pt", resumable=True)
    assert loaded.trainer == trainer and loaded.train_args == {"lr": 0.1} and loaded.resumable
    model_from_checkpoint(loaded)  # the weights still fit


def test_an_unknown_version_is_refused(tmp_path):
    torch.save({**weights_only().to_payload(), "version": 99}, tmp_path / "new.pt")
    with pytest.raises(UserError, match="version 99 is not supported"):
        load_checkpoint(tmp_path / "new.pt")


def test_a_weights_only_checkpoint_generates_but_cannot_be_resumed(tmp_path):
    save_checkpoint(tmp_path / "w.pt", weights_only())
    assert not load_checkpoint(tmp_path / "w.pt").resumable
    with pytest.raises(UserError, match="no training state to resume"):
        load_checkpoint(tmp_path / "w.pt", resumable=True)
    assert set(torch.load(tmp_path / "w.pt", weights_only=True)) == {
        "format",
        "version",
        "model_config",
        "tokenizer",
        "model",
        "checksum",
    }
