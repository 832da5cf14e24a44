"""The KV cache: keys and values of every layer kept between decoding steps, so each new token costs one position."""

from __future__ import annotations

from typing import NamedTuple

import torch


class CacheSizes(NamedTuple):
    n_layer: int
    n_head: int
    head_size: int
    context_length: int
    copy_width: int = 0  # > 0: the copy path's keys and the tokens it proposes are kept too


class KVCache:
    """Keys and values of every layer for the positions seen so far, preallocated up to context_length.

    Rows may start with padding (`pad` slots each), so that prompts of different lengths decode in one batch: a
    row's padding is never attended to, and its positions count from its first real token."""

    def __init__(self, sizes: CacheSizes, batch_size: int, device: torch.device, dtype: torch.dtype):
        shape = (sizes.n_layer, 2, batch_size, sizes.n_head, sizes.context_length, sizes.head_size)
        self.data = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0  # positions filled
        self.offset = 0  # absolute position of the first slot (rotary models slide the window past the context)
        self.pad: torch.Tensor | None = None  # (batch,) padding at the start of each row, in positions
        self.previous: torch.Tensor | None = None  # the last position's token embedding (smear)
        # each layer's last own key (key offset), and the copy path's after them
        self.last_keys: list[torch.Tensor | None] = [None] * (sizes.n_layer + 1)
        self.copy_keys: torch.Tensor | None = None  # (batch, 1, slots, copy_width)
        self.tokens: torch.Tensor | None = None  # (batch, slots): the token at each slot
        if sizes.copy_width:
            slots = sizes.context_length
            self.copy_keys = torch.zeros(batch_size, 1, slots, sizes.copy_width, device=device, dtype=dtype)
            self.tokens = torch.zeros(batch_size, slots, device=device, dtype=torch.long)

    def positions(self, start: int, end: int, device: torch.device) -> torch.Tensor:
        """Positions of slots start..end: (time,), or (batch, time) counted from each row's first real token."""
        positions = torch.arange(self.offset + start, self.offset + end, device=device)
        return positions if self.pad is None else (positions - self.pad[:, None]).clamp(min=0)

    def mask(self, start: int, time: int, device: torch.device) -> torch.Tensor | None:
        """Which keys the new queries attend to (None: plain causal attention will do)."""
        if self.pad is None and (start == 0 or time == 1):
            return None
        keys, queries = torch.arange(start + time, device=device), torch.arange(start, start + time, device=device)
        allowed = keys[None, :] <= queries[:, None]
        if self.pad is not None:  # a padding query sees itself only, so that it stays finite
            real = keys[None, None, :] + self.offset >= self.pad[:, None, None]
            allowed = (allowed & real) | (keys[None, :] == queries[:, None])
            return allowed[:, None]
        return allowed

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v at positions start.. and return the keys and values of all positions so far."""
        end = start + k.shape[2]
        self.data[layer, 0, :, :, start:end] = k
        self.data[layer, 1, :, :, start:end] = v
        return self.data[layer, 0, :, :, :end], self.data[layer, 1, :, :, :end]

    def update_copy(self, keys: torch.Tensor, tokens: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the copy path's keys and the tokens of positions start.. and return those of all positions so far."""
        assert self.copy_keys is not None and self.tokens is not None, "a cache made without copy_width"
        end = start + keys.shape[2]
        self.copy_keys[:, :, start:end] = keys
        self.tokens[:, start:end] = tokens
        return self.copy_keys[:, :, :end], self.tokens[:, :end]

    def own_key(self, layer: int, k: torch.Tensor, start: int) -> torch.Tensor | None:
        """With the key offset the cache keeps offset keys: the own key of slot start - 1 (None at slot 0), which
        the first new position takes half of; k's last own key is kept for the next call."""
        before = self.last_keys[layer] if start > 0 else None
        self.last_keys[layer] = k[:, :, -1:]
        return before

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep the batch rows given (beam search), in that order: every value the cache keeps per row."""
        self.data = self.data.index_select(2, rows)
        if self.copy_keys is not None and self.tokens is not None:
            self.copy_keys, self.tokens = self.copy_keys.index_select(0, rows), self.tokens.index_select(0, rows)
        self.last_keys = [None if k is None else k.index_select(0, rows) for k in self.last_keys]
        if self.previous is not None:
            self.previous = self.previous.index_select(0, rows)
        if self.pad is not None:
            self.pad = self.pad.index_select(0, rows)

    def slide(self, n: int) -> None:
        """Forget the oldest n positions (for rotary models, whose attention depends only on relative positions)."""
        self.data[..., : self.length - n, :] = self.data[..., n : self.length, :].clone()
        if self.copy_keys is not None and self.tokens is not None:
            self.copy_keys[:, :, : self.length - n] = self.copy_keys[:, :, n : self.length].clone()
            self.tokens[:, : self.length - n] = self.tokens[:, n : self.length].clone()
        self.length -= n
        self.offset += n

    def first_real(self) -> torch.Tensor | None:
        """The slot of each row's first real token (batch,), or None when every row starts at slot 0."""
        return None if self.pad is None else (self.pad - self.offset).clamp(min=0)
