"""Copying from earlier in the context in one step: the key offset (a key takes part of the previous position's)
and the copy path (a pointer over the context whose proposals are mixed into the next-token distribution)."""

from __future__ import annotations

import torch
import torch.nn as nn

from moviegpt.kv_cache import KVCache


def offset_dims(head_size: int) -> torch.Tensor:
    """Which dimensions of a key the key offset takes from the previous position: the slower-turning half of each
    of the two halves of rotary pairs."""
    half, quarter = head_size // 2, head_size // 4
    dims = torch.zeros(head_size, dtype=torch.bool)
    dims[quarter:half] = dims[half + quarter :] = True
    return dims


def offset_keys(
    k: torch.Tensor,
    first: torch.Tensor | None = None,
    before: torch.Tensor | None = None,
    start: int = 0,
    dims: torch.Tensor | None = None,
) -> torch.Tensor:
    """Key offset (modded-nanogpt): the slower-turning half of each head's rotary pairs (`dims`) take the previous
    position's key, so a query can find the position after an earlier copy of its token in one layer. k holds
    slots start.. (a cache's new positions, `before` the own key of slot start - 1); a row's first position (slot 0,
    or `first` (batch,) for left-padded rows) keeps its own key."""
    dims = offset_dims(k.shape[-1]).to(k.device) if dims is None else dims
    previous = torch.cat([k[:, :, :1] if before is None else before, k[:, :, :-1]], dim=2)  # slot 0: its own
    if first is not None:
        later = torch.arange(start, start + k.shape[2], device=k.device)[None, :] > first[:, None]  # (batch, time)
        dims = later[:, None, :, None] & dims
    return torch.where(dims, previous, k)


class CopyPath(nn.Module):
    """A pointer over the context (See et al. 2017's pointer-generator; Grave et al. 2017's continuous cache): each
    earlier position proposes the token that followed it, found by matching the current state against the state
    before that token; a learned gate mixes the proposals into the model's next-token distribution. Copying a name
    from the title becomes one short path instead of a circuit the model has to discover."""

    def __init__(self, width: int, layer: int):
        super().__init__()
        self.query = nn.Linear(width, width, bias=False)
        self.key = nn.Linear(width, width, bias=False)
        self.gate = nn.Linear(width, 1)
        self.layer = layer  # the cache keeps this path's last own key beside the layers' (key offset)
        self.register_buffer("every_dim", torch.ones(width, dtype=torch.bool), persistent=False)

    def forward(
        self, h: torch.Tensor, idx: torch.Tensor, logits: torch.Tensor, cache: KVCache | None, start: int, last: bool
    ) -> torch.Tensor:
        """Log-probabilities of the next token at each position of h (batch, time, width), the final states of the
        input tokens idx, given the model's logits there (the last position's only, with `last`)."""
        k = self.key(h).unsqueeze(1)  # (batch, 1, time, width): candidate slot s is keyed by the state before it
        if cache is None:
            keys, tokens, allowed = offset_keys(k, dims=self.every_dim), idx, None
        else:
            before = cache.own_key(self.layer, k, start)
            keys = offset_keys(k, cache.first_real(), before, start, self.every_dim)
            keys, tokens = cache.update_copy(keys, idx, start)
            allowed = cache.mask(start, idx.shape[1], idx.device)
        if allowed is None:
            slots = torch.arange(keys.shape[2], device=idx.device)
            allowed = slots[None, :] <= torch.arange(start, start + idx.shape[1], device=idx.device)[:, None]
        if last:
            h, allowed = h[:, -1:], allowed[..., -1:, :]
        scores = (self.query(h).unsqueeze(1) @ keys.transpose(-1, -2)).float() * h.shape[-1] ** -0.5
        attention = scores.masked_fill(~allowed, float("-inf")).softmax(-1).squeeze(1)  # (batch, time, slots)
        index = tokens[:, None, :].expand(-1, attention.shape[1], -1)
        proposed = torch.zeros_like(logits, dtype=torch.float32).scatter_add_(-1, index, attention)
        gate = torch.sigmoid(self.gate(h).float())
        mixed = (1 - gate) * logits.float().softmax(-1) + gate * proposed
        return mixed.clamp_min(torch.finfo(torch.float32).tiny).log()
