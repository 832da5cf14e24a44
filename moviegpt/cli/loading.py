"""A --checkpoint as the commands need it: fetched (URL, Drive link or id), checked, converted, on its device."""

from __future__ import annotations

import argparse
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
from moviegpt.data.download import fetch
from moviegpt.data.sources import resolve_sources
from moviegpt.errors import UserError
from moviegpt.models import LanguageModel
from moviegpt.records import RecordFormat
from moviegpt.runtime import (
    prepare_for_inference,
    resolve_device,
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


def local_checkpoint(spec: str, args: argparse.Namespace) -> Path:
    """A checkpoint path, URL, Drive link or id as a local file (downloads cached), checked against --sha256."""
    return fetch(spec, resolve_cache_dir(args.cache_dir) / "downloads", args.sha256, reject_html=True)


def original_training_text(args: argparse.Namespace) -> Path | None:
    """With --checkpoint, --training_data names the text an original MovieGPT checkpoint was trained on."""
    if not args.training_data:
        return None
    files = resolve_sources(args.training_data, resolve_cache_dir(args.cache_dir) / "downloads")
    if len(files) != 1:
        raise UserError("with --checkpoint, --training_data takes the one file the original model was trained on")
    return files[0]


def checkpoint_from_flags(args: argparse.Namespace) -> Checkpoint:
    """The --checkpoint as a loaded checkpoint of ours (downloaded, checked, converted from the original's)."""
    return load_checkpoint(local_checkpoint(args.checkpoint, args), original_training_text(args))


def on_device(
    model: LanguageModel,
    tokenizer: Tokenizer,
    record_format: RecordFormat | None,
    args: argparse.Namespace,
    name: str,
    device: torch.device | None = None,
) -> LoadedModel:
    """The model in evaluation mode on `device` (default --device), weights in the inference dtype of --dtype."""
    device = device or resolve_device(args.device)
    model = prepare_for_inference(model, device, resolve_inference_dtype(args.dtype, device))
    return LoadedModel(model, tokenizer, record_format, device, name)


def load_for_inference(args: argparse.Namespace) -> LoadedModel:
    """--checkpoint's model on its device, with its tokenizer and record format."""
    checkpoint = checkpoint_from_flags(args)
    model, tokenizer = model_from_checkpoint(checkpoint)
    return on_device(model, tokenizer, record_format_of(checkpoint), args, Path(args.checkpoint).name)
