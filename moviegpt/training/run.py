"""A training run built as one typed object (data, tokenizer, model, training config, run folder), then trained."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from moviegpt.bigram import BigramConfig
from moviegpt.checkpoint import Checkpoint, model_from_checkpoint
from moviegpt.data.corpus import Corpus, DataConfig, load_corpus
from moviegpt.errors import UserError
from moviegpt.model import GPTConfig
from moviegpt.models import LanguageModel, build_model
from moviegpt.runtime import (
    Runtime,
    configure_backends,
    resolve_device,
    resolve_dtype,
    seed_everything,
)
from moviegpt.training.config import RunSettings, TrainConfig, TrainResult
from moviegpt.training.distributed import (
    SINGLE,
    DistContext,
    broadcast_from_main,
    main_first,
)
from moviegpt.training.dtype_probe import fastest_cpu_dtype
from moviegpt.training.memory import check_fits_in_memory
from moviegpt.training.run_folder import RunCheckpoints, RunFolder
from moviegpt.training.tracking import NullLogger, RunLogger, resolve_wandb_mode
from moviegpt.training.trainer import Trainer


@dataclass
class Resume:
    checkpoint: Checkpoint  # with trainer state
    folder: Path | None  # the run folder to go on in; None (a downloaded checkpoint): a new run folder


@dataclass
class RunConfig:
    data: DataConfig
    model: GPTConfig | BigramConfig  # vocab_size 0: set from the tokenizer
    train: TrainConfig
    run: RunSettings = field(default_factory=RunSettings)
    runtime: Runtime = field(default_factory=Runtime)
    resume: Resume | None = None
    init: Checkpoint | None = None  # fine-tuning: start from these weights (new optimizer, new run folder)
    saved_settings: dict[str, Any] = field(default_factory=dict)  # the settings by name, kept in checkpoints
    explicit: frozenset[str] = frozenset()  # the settings the user typed (the others came from defaults or a preset)

    @property
    def kind(self) -> str:
        return "bigram" if isinstance(self.model, BigramConfig) else "gpt"


class TrainingInterrupted(Exception):
    """Training stopped on Ctrl-C / SIGTERM after writing a checkpoint into out_dir."""

    def __init__(self, out_dir: Path, complete: bool = False):
        super().__init__(str(out_dir))
        self.out_dir, self.complete = out_dir, complete  # complete: the stop came after the plan's last step


@contextlib.contextmanager
def stop_on_signals(request_stop: Callable[[], None], say: bool = True) -> Iterator[list[int]]:
    """Ctrl-C / SIGTERM ask the trainer to stop after the current step (and checkpoint); a second Ctrl-C aborts.

    Yields the list of signals received; `say` False: silently (ranks other than 0 of a torchrun job)."""
    received: list[int] = []

    def handle(signum: int, frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        request_stop()
        if say:
            print(
                "\nstopping after this step to write a checkpoint (Ctrl-C again to abort)", file=sys.stderr, flush=True
            )

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class TrainingRun:
    """Everything a run trains with, built and checked; train() runs it."""

    config: RunConfig
    corpus: Corpus
    model: LanguageModel
    device: torch.device
    dtype: torch.dtype
    out_dir: Path
    wandb_mode: str
    context: DistContext = SINGLE
    dtype_note: str = ""  # how --dtype auto chose, when it measured
    setup_seconds: float = 0.0  # time spent choosing (the dtype probe), counted inside --max_minutes
    folder: RunFolder | None = None  # rank 0's hold on the run folder

    @property
    def global_batch(self) -> int:
        return self.config.train.batch_size * self.config.train.grad_accum * self.context.world_size

    def train_args(self) -> dict[str, Any]:
        """The run's settings as stored in its checkpoints (what --resume and --compare read back)."""
        return {
            **self.config.saved_settings,
            "training_data": [os.path.abspath(f) for f in self.corpus.files],  # resumable from any folder
            "out_dir": str(self.out_dir),
            "world_size": self.context.world_size,
            "global_batch_size": self.global_batch,
        }

    def describe(self) -> str:
        train, processes = self.config.train, f" x {self.context.world_size} processes" if self.context.enabled else ""
        return (
            f"training on {self.corpus.describe()} | {self.model.num_parameters():,} parameters | "
            f"{self.device} {str(self.dtype).removeprefix('torch.')}{self.dtype_note} | "
            f"batch {train.batch_size} x grad_accum {train.grad_accum}{processes} = global batch {self.global_batch} "
            f"sequences of {self.config.model.context_length} per step | run folder {self.out_dir}"
        )

    def trainer(self, logger: RunLogger | NullLogger) -> Trainer:
        checkpoints = RunCheckpoints(self.out_dir, self.config.train.keep_checkpoints) if self.context.is_main else None
        header = {
            "tokenizer": self.corpus.tokenizer.to_dict(),
            "train_args": self.train_args(),
            "record_format": self.corpus.record_format.to_dict() if self.corpus.record_format else None,
        }
        trainer = Trainer(
            self.model,
            self.corpus.dataset,
            self.config.train,
            self.device,
            self.dtype,
            logger,
            checkpoints,
            header,
            self.context,
            chars_per_token=self.corpus.chars_per_token(),
        )
        if self.config.resume is not None:
            trainer.load_state_dict(self.config.resume.checkpoint.trainer)
        trainer.budget.before += self.setup_seconds  # the dtype probe counts against --max_minutes
        return trainer

    def train(self) -> TrainResult:
        """Train to the end (or to Ctrl-C / SIGTERM, which checkpoints and raises TrainingInterrupted)."""
        print(self.describe(), flush=True)
        resume = self.config.resume
        logger = NullLogger()
        if self.context.is_main:
            logger = RunLogger(
                self.out_dir,
                self.wandb_mode,
                self.config.run.wandb_project,
                {
                    **self.train_args(),
                    "n_params": self.model.num_parameters(),
                    "vocab_size": self.corpus.tokenizer.vocab_size,
                },
                resume_id=resume.checkpoint.trainer.get("wandb_run_id") if resume else None,
            )
        try:
            trainer = self.trainer(logger)
            with stop_on_signals(trainer.request_stop, say=self.context.is_main) as received:
                result = trainer.train()
        finally:
            logger.close()
            if self.folder is not None:
                self.folder.release()
        print(f"done: {result.step} steps, val loss {result.val_loss:.4f}, checkpoint {result.checkpoint}", flush=True)
        if received:
            raise TrainingInterrupted(self.out_dir, complete=trainer.plan_done)
        return result


def check_global_batch(corpus: Corpus, config: RunConfig, context: DistContext) -> None:
    """Under torchrun, refuse a global batch larger than the training split (every step would repeat data)."""
    train_size, t = len(corpus.dataset.splits["train"]), config.train
    global_batch, context_length = t.batch_size * t.grad_accum * context.world_size, config.model.context_length
    if context.enabled and global_batch * context_length > train_size:
        raise UserError(
            f"the global batch ({t.batch_size} x grad_accum {t.grad_accum} x {context.world_size} "
            f"processes = {global_batch} sequences of {context_length}) is larger than the training "
            f"split ({train_size:,} characters); lower --batch_size or the number of processes"
        )


TITLE_SETTINGS = {  # each "off"
    "windows": "anywhere",
    "title_dropout": 0.0,
    "plot_weight": 1.0,
    "copy_weight": 1.0,
    "pseudo_titles": 0.0,
}


def fit_title_settings(train: TrainConfig, corpus: Corpus, explicit: frozenset[str]) -> TrainConfig:
    """Windows at movies, title dropout, pseudo-titles and plot weights where the text and tokenizer allow them. One
    that came from a preset (the fast preset's) is off where it cannot apply (plain text, the word tokenizer); one
    the user typed is refused there. auto: three windows in four at a movie where the text is made of movies."""
    if train.windows == "auto":
        train = dataclasses.replace(train, windows="mixed" if corpus.record_format else "anywhere")
    names = list(TITLE_SETTINGS)
    for i, name in enumerate(names):  # windows first: the others need windows at movies
        trial = {n: getattr(train, n) if j <= i else TITLE_SETTINGS[n] for j, n in enumerate(names)}
        try:
            corpus.dataset.check_windows(**trial)
        except UserError:
            if name in explicit:
                raise
            train = dataclasses.replace(train, **{name: TITLE_SETTINGS[name]})
    corpus.dataset.check_windows(**{name: getattr(train, name) for name in names})
    return train


def training_dtype(
    config: RunConfig, model: LanguageModel, dtype: torch.dtype, device: torch.device, context: DistContext = SINGLE
) -> tuple[torch.dtype, str, float]:
    """The dtype to train in (`dtype`: --dtype resolved), how it was chosen when measured, and the seconds that
    took. On a CPU `auto` times both dtypes; under torchrun rank 0 measures and decides for every rank."""
    if not (config.runtime.dtype == "auto" and device.type == "cpu"):
        return dtype, "", 0.0
    choice = None
    if context.is_main:
        dtype, how, seconds = fastest_cpu_dtype(model, config.train.batch_size, config.data.cache_dir / "dtypes.json")
        choice = (dtype, f" (--dtype auto, {how})", seconds)
    return broadcast_from_main(choice, context)


def build_run(config: RunConfig, context: DistContext = SINGLE, rank_device: torch.device | None = None) -> TrainingRun:
    """Load the data, check everything, then make the run folder and the model (fresh, or the resumed one)."""
    with main_first(context):  # under torchrun one rank per machine downloads and encodes
        corpus = load_corpus(config.data)
    corpus.dataset.check_fits(config.model.context_length)
    train = fit_title_settings(config.train, corpus, config.explicit)
    saved = {**config.saved_settings, **{name: getattr(train, name) for name in TITLE_SETTINGS if name != "windows"}}
    config = dataclasses.replace(config, train=train, saved_settings=saved)
    check_global_batch(corpus, config, context)
    if config.resume is not None and config.resume.checkpoint.tokenizer != corpus.tokenizer.to_dict():
        raise UserError("the training data changed since the checkpoint (its tokenizer differs); cannot resume")
    device = rank_device or resolve_device(config.runtime.device)
    configure_backends(device, config.train.threads)
    dtype = resolve_dtype(config.runtime.dtype, device)
    wandb_mode = resolve_wandb_mode(config.run.wandb)
    check_fits_in_memory(config.model, corpus.tokenizer.vocab_size, config.train.batch_size, device)
    seed_everything(config.train.seed)
    if config.resume is not None or config.init is not None:
        model = model_from_checkpoint(config.resume.checkpoint if config.resume else config.init)[0]
    else:
        model = build_model(config.model, corpus.tokenizer.vocab_size)
    if context.enabled:
        seed_everything(config.train.seed + context.rank)  # the same initial weights, but each rank its own dropout
    dtype, note, seconds = training_dtype(config, model, dtype, device, context)
    folder = None
    if context.is_main:  # made (or, resuming, claimed) last: a run refused before this point leaves nothing behind
        resumed = config.resume.folder if config.resume else None
        folder = RunFolder(resumed, created=False) if resumed else RunFolder.new(config.run.out_dir)
    out_dir = Path(broadcast_from_main(str(folder.path if folder else ""), context))  # the same folder everywhere
    return TrainingRun(config, corpus, model, device, dtype, out_dir, wandb_mode, context, note, seconds, folder)
