"""The GPT: a decoder-only pre-norm transformer in the spirit of nanoGPT, in one file to read top to bottom, with the
options of modern small GPTs (rotary positions, RMSNorm, QK-norm, ReLU², zero-initialised projections, untied head,
logit soft-cap) and of copying in one step (copying.py: the key offset, the copy path)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from moviegpt.copying import CopyPath, offset_dims, offset_keys
from moviegpt.errors import check
from moviegpt.gpt_config import GPTConfig  # (also imported from here)
from moviegpt.kv_cache import CacheSizes, KVCache


class ReLUSquared(torch.autograd.Function):
    """relu(x)² whose backward is one fused step, 2 relu(x) grad, from relu(x) alone (autograd's relu and square
    keep two tensors and take four passes over them: 8% of a CPU training step of the fast preset)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        r = F.relu(x)
        ctx.save_for_backward(r)
        return r * r

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (r,) = ctx.saved_tensors
        return (r * grad).mul_(2)


Angles = tuple[torch.Tensor, torch.Tensor]  # rotary cos and sin

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "relu2": ReLUSquared.apply}


def norm_layer(config: GPTConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return nn.RMSNorm(config.n_embd)
    return nn.LayerNorm(config.n_embd, bias=config.bias)


class RotaryTables:
    """The rotary angles' cos and sin of positions 0..n in float32, computed once (again only for a longer n or
    another device), not for queries and keys in every layer on every call. Both are laid out full width, sin with
    the first half negated, so a rotation is x cos + swap_halves(x) sin: four operations instead of eight."""

    def __init__(self, head_size: int, base: float):
        self.freqs = base ** (-torch.arange(head_size // 2, dtype=torch.float32) / (head_size // 2))
        self.tables: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, positions: torch.Tensor, limit: int) -> Angles:
        """(cos, signed sin) at positions (time,) or (batch, time), all below `limit`, shaped to broadcast over
        heads."""
        device = positions.device
        if device not in self.tables or len(self.tables[device][0]) < limit:
            angles = torch.arange(max(limit, 256), device=device).float()[:, None] * self.freqs.to(device)
            cos, sin = angles.cos(), angles.sin()
            self.tables[device] = (torch.cat((cos, cos), dim=-1), torch.cat((-sin, sin), dim=-1))
        cos, sin = (table[positions] for table in self.tables[device])
        return (cos, sin) if positions.dim() == 1 else (cos.unsqueeze(1), sin.unsqueeze(1))


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding of x (..., time, head_size): each pair (x1, x2) of the halves turned by its angle,
    (x1 cos - x2 sin, x2 cos + x1 sin), given RotaryTables' full-width cos and signed sin."""
    half = x.shape[-1] // 2
    return x * cos.to(x.dtype) + torch.cat((x[..., half:], x[..., :half]), dim=-1) * sin.to(x.dtype)


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
        self.qk_norm, self.key_offset = config.qk_norm, config.key_offset
        if config.key_offset:  # (not saved: made from the sizes)
            self.register_buffer("offset_dims", offset_dims(config.n_embd // config.n_head), persistent=False)

    def forward(
        self, x: torch.Tensor, angles: Angles | None, cache: KVCache | None = None, layer: int = 0, start: int = 0
    ) -> torch.Tensor:
        """angles: the rotary (cos, sin) of the positions of x, or None with learned positions."""
        batch, time, channels = x.shape
        qkv = self.qkv(x).view(batch, time, 3, self.n_head, channels // self.n_head)
        # Queries and keys are normalised and rotated together, as one tensor (2, batch, head, time, head_size);
        # scaled_dot_product_attention scales by 1/sqrt(head_size) by default.
        qk, v = qkv[:, :, :2].permute(2, 0, 3, 1, 4), qkv[:, :, 2].transpose(1, 2)
        if self.qk_norm:
            qk = F.rms_norm(qk, (qk.size(-1),))
        if angles is not None:
            qk = rotate(qk, *angles)
        q, k = qk.unbind(0)
        dropout = self.dropout if self.training else 0.0
        mask = None
        if cache is not None:
            if self.key_offset:  # the cache keeps offset keys, and the last own key for the next position's
                k = offset_keys(k, cache.first_real(), cache.own_key(layer, k, start), start, self.offset_dims)
            k, v = cache.update(layer, k, v, start)
            mask = cache.mask(start, time, x.device)  # new queries see the cached positions and the new ones
        elif self.key_offset:
            k = offset_keys(k, dims=self.offset_dims)
        causal = mask is None and start == 0 and time > 1
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
        self.activation = ACTIVATIONS[config.activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(self.activation(self.fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = norm_layer(config)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = norm_layer(config)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, angles: Angles | None, cache: KVCache | None = None, layer: int = 0, start: int = 0
    ) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), angles, cache, layer, start)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        check(config.vocab_size > 0, "vocab_size", "must be set before a model is built")
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        if config.position == "learned":
            self.position_embedding = nn.Embedding(config.context_length, config.n_embd)
        self.rotary = (
            RotaryTables(config.n_embd // config.n_head, config.rope_base) if config.position == "rope" else None
        )
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = norm_layer(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=config.head_bias)
        if config.bigram_logits:
            self.bigram = nn.Embedding(config.vocab_size, config.vocab_size)
        if config.smear:  # how much of the previous token's embedding each position takes: none at first
            self.smear_gate = nn.Linear(config.n_embd, 1, bias=False)
            self.smear_lambda = nn.Parameter(torch.zeros(1))
        if config.copy_path:
            self.copy = CopyPath(config.n_embd, layer=config.n_layer)
        if config.tie_weights:
            self.lm_head.weight = self.token_embedding.weight
        self.apply(self._init_weights)
        for name, param in self.named_parameters():
            if name.endswith("proj.weight"):  # GPT-2: residual projections scaled by 1/sqrt(2 * n_layer); or zero
                nn.init.normal_(param, mean=0.0, std=0.0 if config.zero_init else 0.02 / math.sqrt(2 * config.n_layer))
        if config.zero_init and not config.tie_weights:
            nn.init.zeros_(self.lm_head.weight)
        if config.bigram_logits:
            nn.init.zeros_(self.bigram.weight)
        if config.copy_path:  # the pointer starts nearly shut (5%): the model learns first, then where copying pays
            nn.init.constant_(self.copy.gate.bias, -3.0)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def output_logits(self, h: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Next-token logits from the final normalised states h of the tokens idx."""
        logits = self.lm_head(h)
        if self.config.bigram_logits:
            logits = logits + self.bigram(idx)
        if self.config.logit_softcap > 0:
            logits = self.config.logit_softcap * torch.tanh(logits / self.config.logit_softcap)
        return logits

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def smeared(self, x: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        """Each position plus a learned, gated share of the previous position's token embedding (none for a row's
        first token)."""
        previous = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
        if cache is not None:
            if cache.length > 0:
                previous[:, :1] = cache.previous
            if cache.pad is not None:  # padding is no previous token
                slots = torch.arange(cache.length, cache.length + x.shape[1], device=x.device) + cache.offset
                previous = previous * (slots[None, :] > cache.pad[:, None]).unsqueeze(-1)
            cache.previous = x[:, -1:]
        return x + self.smear_lambda * torch.sigmoid(self.smear_gate(x)) * previous

    def new_cache(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> KVCache:
        """An empty KV cache for incremental decoding of batch_size rows."""
        c = self.config
        sizes = CacheSizes(c.n_layer, c.n_head, c.n_embd // c.n_head, c.context_length, c.n_embd if c.copy_path else 0)
        return KVCache(sizes, batch_size, device, dtype)

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        cache: KVCache | None = None,
        last_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position (the last only, with `last_only`: a prompt's prefill); the mean cross-entropy
        loss too when targets are given. With the copy path the logits are log-probabilities (the mixture of the
        model's distribution and the pointer's is one already); softmax and sampling treat them alike.

        With a cache, idx holds only the new positions: they follow the cache.length positions already seen,
        whose keys and values are reused, and the cache grows by idx.shape[1].
        """
        start = cache.length if cache is not None else 0
        end = start + idx.shape[1]
        if end > self.config.context_length:
            raise ValueError(f"sequence of {end} tokens exceeds context_length {self.config.context_length}")
        if cache is not None:
            positions = cache.positions(start, end, idx.device)
        else:
            positions = torch.arange(start, end, device=idx.device)
        x = self.token_embedding(idx)
        if self.config.smear:
            x = self.smeared(x, cache)
        if self.config.position == "learned":
            x = x + self.position_embedding(positions)
        x = self.drop(x)
        angles = self.rotary(positions, end + (cache.offset if cache else 0)) if self.rotary else None
        for layer, block in enumerate(self.blocks):
            x = block(x, angles, cache, layer, start)
        h = self.ln_f(x)
        logits = self.output_logits(h[:, -1:], idx[:, -1:]) if last_only else self.output_logits(h, idx)
        if self.config.copy_path:  # the copy path keeps every position's key, also with last_only
            logits = self.copy(h, idx, logits, cache, start, last_only)
        if cache is not None:
            cache.length = end
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss
