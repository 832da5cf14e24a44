"""A decoder-only pre-LayerNorm transformer (GPT), in the spirit of nanoGPT."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from moviegpt.errors import ConfigError, check


@dataclass
class GPTConfig:
    vocab_size: int
    context_length: int = 256
    n_embd: int = 768
    n_head: int = 8
    n_layer: int = 8
    dropout: float = 0.3
    bias: bool = True
    # Options that only the original MovieGPT's checkpoints need (see moviegpt/original.py); ours keep the defaults.
    attention_scale: str = "head_size"  # scores scaled by head_size ** -0.5, or "n_embd" ** -0.5 (original)
    activation: str = "gelu"  # MLP nonlinearity: "gelu", or "relu" (original)
    tie_weights: bool = True  # output head shares the token embedding (the original's head is separate)
    head_bias: bool = False  # the original's output head has a bias

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "n_embd", "n_head", "n_layer"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(name, f"must be a positive integer, got {value!r}")
        check(self.n_embd % self.n_head == 0, "n_embd", f"({self.n_embd}) must be divisible by n_head ({self.n_head})")
        check(0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1), got {self.dropout}")
        check(
            self.attention_scale in ("head_size", "n_embd"),
            "attention_scale",
            f"must be head_size or n_embd, got {self.attention_scale!r}",
        )
        check(self.activation in ("gelu", "relu"), "activation", f"must be gelu or relu, got {self.activation!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class KVCache:
    """Keys and values of every layer for the positions seen so far, preallocated up to context_length."""

    def __init__(self, config: GPTConfig, batch_size: int, device: torch.device, dtype: torch.dtype):
        head_size = config.n_embd // config.n_head
        shape = (config.n_layer, 2, batch_size, config.n_head, config.context_length, head_size)
        self.data = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0  # positions filled

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v at positions start.. and return the keys and values of all positions so far."""
        end = start + k.shape[2]
        self.data[layer, 0, :, :, start:end] = k
        self.data[layer, 1, :, :, start:end] = v
        return self.data[layer, 0, :, :, :end], self.data[layer, 1, :, :, :end]

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep the batch rows given (beam search), in that order."""
        self.data = self.data.index_select(2, rows)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with one fused query/key/value projection."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)
        self.scale = config.n_embd**-0.5 if config.attention_scale == "n_embd" else None  # None: head_size

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, start: int = 0) -> torch.Tensor:
        batch, time, channels = x.shape
        q, k, v = self.qkv(x).split(channels, dim=2)
        # (batch, head, time, head_size); scaled_dot_product_attention scales by 1/sqrt(head_size) by default.
        q, k, v = (t.view(batch, time, self.n_head, -1).transpose(1, 2) for t in (q, k, v))
        dropout = self.dropout if self.training else 0.0
        mask = None
        if cache is not None:
            k, v = cache.update(layer, k, v, start)
            if start > 0 and time > 1:  # new queries see all cached positions and the new ones causally
                mask = torch.ones(time, start + time, dtype=torch.bool, device=x.device).tril(diagonal=start)
        causal = mask is None and (cache is None or start == 0) and time > 1
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=causal, scale=self.scale
        )
        y = y.transpose(1, 2).contiguous().view(batch, time, channels)
        return self.resid_dropout(self.proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        self.activation = F.relu if config.activation == "relu" else F.gelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(self.activation(self.fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, start: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer, start)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.context_length, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=config.head_bias)
        if config.tie_weights:
            self.lm_head.weight = self.token_embedding.weight
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer).
        for name, param in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def new_cache(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> KVCache:
        """An empty KV cache for incremental decoding of batch_size rows."""
        return KVCache(self.config, batch_size, device, dtype)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position; the mean cross-entropy loss too when targets are given.

        With a cache, idx holds only the new positions: they follow the cache.length positions already seen,
        whose keys and values are reused, and the cache grows by idx.shape[1].
        """
        start = cache.length if cache is not None else 0
        end = start + idx.shape[1]
        if end > self.config.context_length:
            raise ValueError(f"sequence of {end} tokens exceeds context_length {self.config.context_length}")
        positions = torch.arange(start, end, device=idx.device)
        x = self.drop(self.token_embedding(idx) + self.position_embedding(positions))
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer, start)
        if cache is not None:
            cache.length = end
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss
