"""Self-contained checkpoints: written atomically, loaded with weights_only=True, checked before use."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import BinaryIO

import torch

from .bigram import BigramConfig, BigramLanguageModel
from .data import RecordFormat
from .errors import UserError
from .files import atomic_write
from .model import GPT, GPTConfig
from .original import convert_original, is_original_layout
from .tokenization import tokenizer_from_dict
from .tokenizer import Tokenizer

FORMAT = "moviegpt-checkpoint"
VERSION = 1


class _WriteErrorRecorder:
    """A file wrapper that remembers an OSError (disk full), which torch.save turns into a vague RuntimeError."""

    def __init__(self, file: BinaryIO):
        self.file, self.error = file, None

    def write(self, data: bytes) -> int:
        try:
            return self.file.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.file.flush()


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Save a checkpoint dict (model weights, config, tokenizer, training state) atomically."""
    payload = {"format": FORMAT, "version": VERSION, **state}
    recorder = None

    def write(file: BinaryIO) -> None:
        nonlocal recorder
        recorder = _WriteErrorRecorder(file)
        torch.save(payload, recorder)

    try:
        atomic_write(path, write)
    except (OSError, RuntimeError) as exc:
        error = recorder.error if recorder is not None and recorder.error is not None else exc
        if not isinstance(error, OSError):
            raise
        raise UserError(f"cannot write checkpoint {path}: {error.strerror or error} "
                        "(the previous checkpoints are intact)") from None


def load_checkpoint(path: str | Path, original_text: str | Path | None = None, resumable: bool = False) -> dict:
    """Load and check a MovieGPT checkpoint; anything else is refused with a one-line reason.

    A state dict saved by the original MovieGPT is converted, given the text it was trained on (its vocabulary);
    it cannot be resumed (it holds no optimizer state).
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"checkpoint is a folder, not a file: {path}")
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise UserError(f"not a loadable MovieGPT checkpoint: {path} ({first_line})") from None
    except Exception:  # torch raises many types on damaged or foreign files
        raise UserError(f"checkpoint is truncated or not a PyTorch file: {path}") from None
    if is_original_layout(state):
        if resumable:
            raise UserError(f"{path} is a checkpoint of the original MovieGPT: it holds no training state to resume; "
                            "generate from it, or --convert it and train a new run")
        return convert_original(state, original_text, str(path))
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"not a MovieGPT checkpoint (made by another tool?): {path}")
    if state.get("version") != VERSION:
        raise UserError(f"checkpoint version {state.get('version')} is not supported (expected {VERSION}): {path}")
    for key in ("model_config", "tokenizer", "model"):
        if key not in state:
            raise UserError(f"checkpoint is missing '{key}': {path}")
    return state


def record_format_of(state: dict) -> RecordFormat | None:
    """The movie-record template a checkpoint's text used (None for plain text)."""
    return RecordFormat(**state["record_format"]) if state.get("record_format") else None


MODEL_KINDS = {"gpt": (GPTConfig, GPT), "bigram": (BigramConfig, BigramLanguageModel)}


def model_from_checkpoint(state: dict) -> tuple[GPT | BigramLanguageModel, Tokenizer]:
    """Rebuild the model (a GPT, or the bigram baseline) and the tokenizer stored in a loaded checkpoint."""
    tokenizer = tokenizer_from_dict(state["tokenizer"])
    kind = state["model_config"].get("kind", "gpt")
    if kind not in MODEL_KINDS:
        raise UserError(f"checkpoint holds an unknown kind of model: {kind!r}")
    config_class, model_class = MODEL_KINDS[kind]
    try:
        config = config_class(**state["model_config"])
    except TypeError as exc:
        raise UserError(f"checkpoint has an unknown model config: {exc}") from None
    model = model_class(config)
    weights = {k.removeprefix("_orig_mod."): v for k, v in state["model"].items()}
    try:
        model.load_state_dict(weights)
    except RuntimeError:
        raise UserError("checkpoint weights do not match its model config") from None
    return model, tokenizer


def newest_good_checkpoint(path: str | Path) -> tuple[Path, dict, list[str]]:
    """A checkpoint file as given, or in a run folder the newest one that loads: its path, its loaded state,
    and the problems of the newer ones skipped."""
    path = Path(path)
    if not path.is_dir():
        return path, load_checkpoint(path, resumable=True), []
    skipped = []
    for candidate in sorted(path.glob("epoch_*.pt"), reverse=True):
        try:
            return candidate, load_checkpoint(candidate, resumable=True), skipped
        except UserError as exc:
            skipped.append(str(exc))
    raise UserError(f"no usable checkpoint in {path}" + (f" ({skipped[0]})" if skipped else ""))
