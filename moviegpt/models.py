"""What every language model here offers to training, checkpoints, generation and evaluation, and the registry of
the kinds: the GPT (model.py) and the bigram baseline (bigram.py)."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import torch

from moviegpt.bigram import BigramConfig, BigramLanguageModel
from moviegpt.errors import UserError
from moviegpt.model import GPT, GPTConfig


class ModelConfig(Protocol):
    vocab_size: int
    context_length: int

    def to_dict(self) -> dict[str, Any]: ...


class Cache(Protocol):
    """Incremental-decoding state: how many positions were seen, and a way to keep some batch rows (beams)."""

    length: int

    def reorder(self, rows: torch.Tensor) -> None: ...


class LanguageModel(Protocol):
    """A next-token model (GPT, or the bigram baseline): an nn.Module with this interface."""

    config: ModelConfig

    def num_parameters(self) -> int: ...

    def new_cache(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> Cache: ...

    def __call__(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        cache: Cache | None = None,
        last_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...


MODEL_KINDS = {"gpt": (GPTConfig, GPT), "bigram": (BigramConfig, BigramLanguageModel)}


def model_from_config(config: dict[str, Any]) -> LanguageModel:
    """A freshly initialised model of the kind and sizes a config dict (as saved in a checkpoint) names."""
    kind = config.get("kind", "gpt")
    if kind not in MODEL_KINDS:
        raise UserError(f"checkpoint holds an unknown kind of model: {kind!r}")
    config_class, model_class = MODEL_KINDS[kind]
    try:
        return model_class(config_class(**config))
    except TypeError as exc:
        raise UserError(f"checkpoint has an unknown model config: {exc}") from None


def build_model(config: GPTConfig | BigramConfig, vocab_size: int) -> LanguageModel:
    """A freshly initialised model of a config whose vocabulary is now known."""
    config = dataclasses.replace(config, vocab_size=vocab_size)
    return GPT(config) if isinstance(config, GPTConfig) else BigramLanguageModel(config)
