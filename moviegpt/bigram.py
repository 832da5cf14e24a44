"""The bigram baseline: the next character depends on the current one only (a vocabulary x vocabulary table)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from moviegpt.errors import check
from moviegpt.settings import derived


@dataclass
class BigramConfig:
    vocab_size: int = derived(0)  # set from the tokenizer
    context_length: int = 8  # (the GPT's setting) only the length of training windows: the model looks one back
    kind: str = "bigram"

    def __post_init__(self) -> None:
        check(self.vocab_size >= 0, "vocab_size", f"must be >= 0, got {self.vocab_size}")
        check(self.context_length >= 1, "context_length", f"must be >= 1, got {self.context_length}")

    def to_dict(self) -> dict:
        return asdict(self)


class PositionCounter:
    """The bigram's stand-in for a KV cache: it has nothing to remember beyond how many positions it saw."""

    def __init__(self) -> None:
        self.length = 0
        self.pad: torch.Tensor | None = None  # (rows may be left-padded; the bigram looks one token back only)

    def reorder(self, rows: torch.Tensor) -> None:
        pass


class BigramLanguageModel(nn.Module):
    def __init__(self, config: BigramConfig):
        super().__init__()
        self.config = config
        self.table = nn.Embedding(config.vocab_size, config.vocab_size)  # row = current char, logits of the next
        nn.init.normal_(self.table.weight, mean=0.0, std=0.02)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def new_cache(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> PositionCounter:
        return PositionCounter()

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        cache: PositionCounter | None = None,
        last_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position, or the last (the same interface as GPT.forward)."""
        logits = self.table(idx[:, -1:] if last_only else idx)
        if cache is not None:
            cache.length += idx.shape[1]
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss
