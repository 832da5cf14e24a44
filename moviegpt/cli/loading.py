"""A --checkpoint as the commands need it: fetched (URL, Drive link or id), checked, converted, on its device."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from moviegpt.checkpoint import (
    Checkpoint,
    load_checkpoint,
    model_from_checkpoint,
    record_format_of,
)
from moviegpt.cli.paths import resolve_cache_dir
from moviegpt.cli.settings import Settings
from moviegpt.data.download import fetch
from moviegpt.data.sources import resolve_sources
from moviegpt.errors import UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.models import LanguageModel
from moviegpt.records import RecordFormat
from moviegpt.runtime import (
    prepare_for_inference,
    resolve_device,
    resolve_evaluation_dtype,
    resolve_inference_dtype,
)
from moviegpt.tokenizer import Tokenizer


@dataclass
class LoadedModel:
    """A model ready to generate or evaluate with, and what came with it."""

    model: LanguageModel
    tokenizer: Tokenizer
    record_format: RecordFormat | None
    device: torch.device
    name: str  # the checkpoint's file name, for poster credits and the web page
    title_dropout: float = 0.0  # what the model was trained with (it sets the default guidance)

    def generation(self, settings: Settings) -> GenerationConfig:
        """The generation settings for this model (its stop strings)."""
        return settings.generation_for(self.record_format)


def local_checkpoint(spec: str, settings: Settings) -> Path:
    """A checkpoint path, URL, Drive link or id as a local file (downloads cached), checked against --sha256."""
    downloads = resolve_cache_dir(settings.runtime.cache_dir) / "downloads"
    return fetch(spec, downloads, settings.command.sha256, reject_html=True)


def original_training_text(settings: Settings) -> Path | None:
    """With --checkpoint, --training_data names the text an original MovieGPT checkpoint was trained on."""
    if not settings.command.training_data:
        return None
    downloads = resolve_cache_dir(settings.runtime.cache_dir) / "downloads"
    files = resolve_sources(settings.command.training_data, downloads)
    if len(files) != 1:
        raise UserError("with --checkpoint, --training_data takes the one file the original model was trained on")
    return files[0]


def checkpoint_from_flags(settings: Settings) -> Checkpoint:
    """The --checkpoint as a loaded checkpoint of ours (downloaded, checked, converted from the original's)."""
    path = local_checkpoint(settings.command.checkpoint, settings)
    return load_checkpoint(path, original_training_text(settings))


def on_device(
    model: LanguageModel,
    tokenizer: Tokenizer,
    record_format: RecordFormat | None,
    settings: Settings,
    name: str,
    device: torch.device | None = None,
    title_dropout: float = 0.0,
    exact: bool = False,
) -> LoadedModel:
    """The model in evaluation mode on `device` (default --device), weights in the inference dtype of --dtype
    (exact: float32 unless --dtype says otherwise, for --evaluate)."""
    device = device or resolve_device(settings.runtime.device)
    resolve = resolve_evaluation_dtype if exact else resolve_inference_dtype
    model = prepare_for_inference(model, device, resolve(settings.runtime.dtype, device))
    return LoadedModel(model, tokenizer, record_format, device, name, title_dropout)


def load_for_inference(settings: Settings, exact: bool = False) -> LoadedModel:
    """--checkpoint's model on its device, with its tokenizer and record format (exact: see on_device)."""
    checkpoint = checkpoint_from_flags(settings)
    model, tokenizer = model_from_checkpoint(checkpoint)
    name = Path(settings.command.checkpoint).name
    dropout = (checkpoint.train_args or {}).get("title_dropout") or 0.0
    return on_device(model, tokenizer, record_format_of(checkpoint), settings, name, title_dropout=dropout, exact=exact)
