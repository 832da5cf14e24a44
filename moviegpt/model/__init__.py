"""The language models: the GPT (a plain nanoGPT-style transformer) and the bigram baseline."""

from __future__ import annotations

from typing import Any

from moviegpt.errors import UserError
from moviegpt.model.base import LanguageModel
from moviegpt.model.bigram import BigramConfig, BigramLanguageModel
from moviegpt.model.gpt import GPT, GPTConfig

MODEL_KINDS = {"gpt": (GPTConfig, GPT), "bigram": (BigramConfig, BigramLanguageModel)}

__all__ = ["GPT", "GPTConfig", "BigramConfig", "BigramLanguageModel", "LanguageModel", "model_from_config"]


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
