"""Checkpoints made by the original MovieGPT: bare state dicts with per-head attention, no vocabulary, no config.

The original's layout (UfukTanriverdi8/MovieGPT): `token_embedding_table`, `positional_embedding`,
`blocks.{i}.sa.heads.{h}.query/key/value` (no bias), `blocks.{i}.sa.proj`, `blocks.{i}.ffwd.net.0/2` (ReLU),
`blocks.{i}.ln1/ln2`, `ln_f`, and an untied `lm_head` with a bias. Attention scores are scaled by n_embd ** -0.5,
not by the head size. Its vocabulary is the sorted characters of the training file.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from moviegpt.data.textfile import iter_text_chunks
from moviegpt.errors import UserError
from moviegpt.model import GPTConfig
from moviegpt.records import RECORD_END, RecordFormat
from moviegpt.tokenizer.char import CharTokenizer

HEAD_KEY = re.compile(r"blocks\.(\d+)\.sa\.heads\.(\d+)\.query\.weight")


def is_original_layout(state: object) -> bool:
    """Whether a loaded torch object is a state dict saved by the original MovieGPT."""
    return (
        isinstance(state, dict)
        and "token_embedding_table.weight" in state
        and "blocks.0.sa.heads.0.query.weight" in state
    )


def original_config(state: dict[str, torch.Tensor]) -> GPTConfig:
    """The model sizes, read from the tensors (the original stores none)."""
    vocab_size, n_embd = state["token_embedding_table.weight"].shape
    context_length = state["positional_embedding.weight"].shape[0]
    heads = [tuple(map(int, m.groups())) for key in state if (m := HEAD_KEY.fullmatch(key))]
    n_layer = 1 + max(layer for layer, _ in heads)
    n_head = 1 + max(head for _, head in heads)
    return GPTConfig(
        vocab_size=vocab_size,
        context_length=context_length,
        n_embd=n_embd,
        n_head=n_head,
        n_layer=n_layer,
        dropout=0.0,
        bias=True,
        attention_scale="n_embd",
        activation="relu",
        tie_weights=False,
        head_bias=True,
    )


def convert_weights(state: dict[str, torch.Tensor], config: GPTConfig) -> dict[str, torch.Tensor]:
    """The original's tensors under our names: per-head q/k/v stacked into one qkv projection (zero bias)."""
    ours = {
        "token_embedding.weight": state["token_embedding_table.weight"],
        "position_embedding.weight": state["positional_embedding.weight"],
        "ln_f.weight": state["ln_f.weight"],
        "ln_f.bias": state["ln_f.bias"],
        "lm_head.weight": state["lm_head.weight"],
        "lm_head.bias": state["lm_head.bias"],
    }
    for i in range(config.n_layer):
        old, new = f"blocks.{i}.", f"blocks.{i}."
        qkv = [
            torch.cat([state[f"{old}sa.heads.{h}.{part}.weight"] for h in range(config.n_head)])
            for part in ("query", "key", "value")
        ]
        ours[f"{new}attn.qkv.weight"] = torch.cat(qkv)
        ours[f"{new}attn.qkv.bias"] = torch.zeros(3 * config.n_embd)
        pairs = {"ln1": "ln_1", "ln2": "ln_2", "sa.proj": "attn.proj", "ffwd.net.0": "mlp.fc", "ffwd.net.2": "mlp.proj"}
        for source, target in pairs.items():
            for kind in ("weight", "bias"):
                ours[f"{new}{target}.{kind}"] = state[f"{old}{source}.{kind}"]
    return ours


def vocabulary_of(path: str | Path) -> tuple[CharTokenizer, bool]:
    """The original's vocabulary (sorted characters of its training file, read in chunks) and whether the
    text is in the movie-record format."""
    chars: set[str] = set()
    has_records = False
    for chunk in iter_text_chunks(path):
        chars.update(chunk)
        has_records = has_records or RECORD_END in chunk
    return CharTokenizer(chars), has_records


def convert_original(state: dict[str, torch.Tensor], training_text: str | Path | None, source: str) -> dict:
    """A checkpoint of ours (as load_checkpoint returns it) from an original state dict and its training text."""
    if training_text is None:
        raise UserError(
            f"{source} is a checkpoint of the original MovieGPT, which stores no vocabulary: add "
            "--training_data with the text it was trained on"
        )
    config = original_config(state)
    tokenizer, has_records = vocabulary_of(training_text)
    if tokenizer.vocab_size != config.vocab_size:
        raise UserError(
            f"{training_text} has {tokenizer.vocab_size} distinct characters but {source} was trained "
            f"on {config.vocab_size}; pass the exact text the original model was trained on"
        )
    return {
        "model_config": config.to_dict(),
        "tokenizer": tokenizer.to_dict(),
        "model": convert_weights(state, config),
        "record_format": RecordFormat().to_dict() if has_records else None,
        "converted_from": {
            "format": "original MovieGPT state dict",
            "source": source,
            "training_text": str(training_text),
        },
    }
