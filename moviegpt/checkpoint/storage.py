"""Checkpoints on disk: written atomically, loaded with weights_only=True, checked before use; models rebuilt."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import torch

from moviegpt.checkpoint.original import convert_original, is_original_layout
from moviegpt.checkpoint.schema import Checkpoint
from moviegpt.errors import UserError
from moviegpt.files import atomic_write
from moviegpt.models import LanguageModel, model_from_config
from moviegpt.records import RecordFormat
from moviegpt.tokenizer.base import Tokenizer
from moviegpt.tokenizer.factory import tokenizer_from_dict


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


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> None:
    """Save a checkpoint atomically; a full disk is a UserError and leaves the previous file intact."""
    payload = checkpoint.to_payload()
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
        raise UserError(
            f"cannot write checkpoint {path}: {error.strerror or error} (the previous checkpoints are intact)"
        ) from None


def unpickling_problem(path: Path, message: str) -> str:
    """What torch's refusal to unpickle means, in one line (torch's own text advises weights_only=False)."""
    reason = re.search(r"WeightsUnpickler error:\s*(.*)", message)
    reason = reason.group(1).strip() if reason else message.strip().splitlines()[0] if message.strip() else ""
    if not reason or reason.startswith("Unsupported operand"):  # bytes that are no pickle at all
        return f"checkpoint is truncated or not a PyTorch file: {path}"
    unsafe = re.search(r"GLOBAL (\S+)", reason)
    what = f"it would load {unsafe.group(1)}" if unsafe else reason.split(". ")[0]
    return f"not a loadable MovieGPT checkpoint: {path} ({what}; nothing of it was run)"


def load_checkpoint(path: str | Path, original_text: str | Path | None = None, resumable: bool = False) -> Checkpoint:
    """Load and check a MovieGPT checkpoint; anything else is refused with a one-line reason.

    A state dict saved by the original MovieGPT is converted, given the text it was trained on (its vocabulary);
    it cannot be resumed (it holds no optimizer state), nor can any checkpoint without trainer state.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"checkpoint is a folder, not a file: {path}")
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol warning would come before our one line
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UserError(unpickling_problem(path, str(exc))) from None
    except Exception:  # torch raises many types on damaged or foreign files
        raise UserError(f"checkpoint is truncated or not a PyTorch file: {path}") from None
    if is_original_layout(payload):
        if resumable:
            raise UserError(
                f"{path} is a checkpoint of the original MovieGPT: it holds no training state to resume; "
                "generate from it, or --convert it and train a new run"
            )
        return Checkpoint(**convert_original(payload, original_text, str(path)))
    checkpoint = Checkpoint.from_payload(payload, path)
    if resumable and not checkpoint.resumable:
        raise UserError(
            f"{path} holds weights only, no training state to resume (a run keeps that in its newest "
            "two checkpoints): resume the run folder, or start a new run from it with --init_from"
        )
    return checkpoint


def record_format_of(checkpoint: Checkpoint) -> RecordFormat | None:
    """The movie-record template a checkpoint's text used (None for plain text)."""
    return RecordFormat(**checkpoint.record_format) if checkpoint.record_format else None


def model_from_checkpoint(checkpoint: Checkpoint) -> tuple[LanguageModel, Tokenizer]:
    """Rebuild the model (a GPT, or the bigram baseline) and the tokenizer stored in a loaded checkpoint."""
    tokenizer = tokenizer_from_dict(checkpoint.tokenizer)
    model = model_from_config(checkpoint.model_config)
    if tokenizer.vocab_size != model.config.vocab_size:
        raise UserError(
            f"checkpoint is inconsistent: its vocabulary has {tokenizer.vocab_size} tokens but its model "
            f"{model.config.vocab_size}"
        )
    weights = {k.removeprefix("_orig_mod."): v for k, v in checkpoint.model.items()}
    if not all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point()):
        raise UserError("checkpoint holds weights that are not finite (NaN or infinite): the run had diverged")
    try:
        model.load_state_dict(weights)
    except RuntimeError:
        raise UserError("checkpoint weights do not match its model config") from None
    return model, tokenizer


def epoch_files(folder: Path) -> list[Path]:
    """A run folder's epoch_N.pt files, oldest first by their number (as text epoch_1000 sorts before epoch_999)."""
    numbered = [(int(p.stem.removeprefix("epoch_")), p) for p in folder.glob("epoch_*.pt") if p.stem[6:].isdigit()]
    return [p for _, p in sorted(numbered)]


def newest_good_checkpoint(path: str | Path) -> tuple[Path, Checkpoint, list[str]]:
    """A checkpoint file as given, or in a run folder the newest one that loads: its path, its loaded state,
    and the problems of the newer ones skipped."""
    path = Path(path)
    if not path.is_dir():
        return path, load_checkpoint(path, resumable=True), []
    skipped = []
    for candidate in reversed(epoch_files(path)):
        try:
            return candidate, load_checkpoint(candidate, resumable=True), skipped
        except UserError as exc:
            skipped.append(str(exc))
    raise UserError(f"no usable checkpoint in {path}" + (f" ({skipped[0]})" if skipped else ""))
