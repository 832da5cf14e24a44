"""What every language model here offers to training, checkpoints, generation and evaluation."""

from __future__ import annotations

from typing import Any, Protocol

import torch


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
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: Cache | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...
