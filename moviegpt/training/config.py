"""TrainConfig: the settings of the training loop, declared and checked once; TrainResult: what a run ends with."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from moviegpt.errors import check
from moviegpt.runtime import DEFAULT_SEED
from moviegpt.settings import FIXED, FREE, NOT_EMPTY, above, at_least, between, setting, validate
from moviegpt.training.presets import PRESETS


@dataclass
class TrainConfig:
    """The training loop's settings; the defaults are the original MovieGPT's (presets choose others)."""

    batch_size: int = setting(128, "sequences per training step", check=at_least(1), resume=FIXED)
    lr: float = setting(2.5e-4, "peak learning rate", check=above(0), resume=FIXED)
    epochs: int = setting(
        5, "passes over the data; one = len(train) // (batch * context) steps", check=at_least(1), resume=FREE
    )
    max_iters: int | None = setting(
        None, "stop after this many steps (still evaluates and checkpoints)", check=at_least(1), resume=FREE
    )
    max_minutes: float | None = setting(
        None, "stop after this many minutes of training (still evaluates and checkpoints)", check=above(0), resume=FREE
    )
    eval_iters: int = setting(100, "batches per split in each evaluation", check=at_least(1), resume=FREE)
    eval_interval: int | None = setting(
        None,
        "steps between evaluations (default: four per epoch, at least 4 * eval_iters apart)",
        check=at_least(1),
        resume=FREE,
    )
    logging_steps: int = setting(50, "steps between train-loss logs", check=at_least(1), resume=FREE)
    grad_accum: int = setting(
        1,
        "micro-batches of --batch_size per optimizer step, for larger effective batches",
        check=at_least(1),
        resume=FIXED,
    )
    compile: bool | None = setting(
        None,
        "torch.compile the model (default: on CUDA, off on a CPU where it measured no faster; falls back to eager "
        "with a warning when compiling fails)",
        resume=FREE,
    )
    optimizer: str = setting(
        "adamw", "adamw, or muon (Muon on hidden matrices, AdamW on the rest)", choices=("adamw", "muon"), resume=FIXED
    )
    muon_lr: float = setting(0.02, "Muon's peak learning rate", check=above(0), resume=FIXED)
    schedule: str = setting(
        "cosine", "cosine decay, or warmup-stable-decay (wsd)", choices=("cosine", "wsd"), resume=FIXED
    )
    cooldown_frac: float = setting(
        0.4, "wsd: the last fraction of the run spent decaying", check=between(0, 1, low_open=True), resume=FIXED
    )
    keep_checkpoints: int = setting(
        3, "newest epoch checkpoints kept, besides best.pt and last.pt; 0 keeps all", check=at_least(0), resume=FREE
    )
    checkpoint_every_minutes: float | None = setting(
        None, "also checkpoint mid-epoch this often, so a long epoch is never lost", check=above(0), resume=FREE
    )
    checkpoint_every_steps: int | None = setting(
        None, "also checkpoint mid-epoch every this many steps", check=at_least(1), resume=FREE
    )
    windows: str = setting(
        "anywhere",
        "where training and validation windows start: anywhere, at the first character of a movie record "
        "(records), so every plot is trained with its title in view, three in four there (mixed), or auto (mixed for "
        "movie-format text, else anywhere)",
        choices=("anywhere", "records", "mixed", "auto"),
        resume=FIXED,
    )
    title_dropout: float = setting(
        0.0,
        "the share of windows starting at a movie whose title is left out, so that the model knows a movie without "
        "a title (what --guidance_scale compares against)",
        check=between(0, 1, high_open=True),
        resume=FIXED,
    )
    pseudo_titles: float = setting(
        0.0,
        "the share of the other windows starting at a movie whose title is replaced by a name or place from its own "
        "plot (--tokenizer char), so the model sees many plots that use their title and learns to copy from it",
        check=between(0, 1),
        resume=FIXED,
    )
    plot_weight: float = setting(
        1.0,
        "in movie-format text a plot character's training loss counts this many times a title's or an end mark's "
        "(--tokenizer char; 1: all alike)",
        check=between(0.01, 100),
        resume=FIXED,
    )
    copy_weight: float = setting(
        1.0,
        "in movie-format text the training loss of a plot word that is also a word of its title counts this many "
        "times more (--tokenizer char; 1: off): copying from the title pays",
        check=between(0.01, 100),
        resume=FIXED,
    )
    threads: int | None = setting(
        None,
        "CPU threads (default: one per core, one while another program keeps a core busy); a number fixes the "
        "count: a resumed run is bitwise exact on a CPU only at a fixed count",
        check=at_least(1),
        resume=FREE,
    )
    seed: int = DEFAULT_SEED  # (--seed, declared with the Runtime)
    warmup_iters: int | None = setting(
        None,
        "steps of linear warmup (default: a twentieth of the planned steps, at most 100; a --max_minutes run also "
        "ends it at a twentieth of its budget)",
        check=at_least(0),
        resume=FIXED,
    )
    grad_clip: float = setting(
        1.0, "clip the gradient norm to this; 0 turns clipping off", check=between(0, 1e6), resume=FIXED
    )
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    eval_share: float = 0.05  # under --max_minutes, evaluations take at most about this share of the time

    def __post_init__(self) -> None:
        validate(self)
        for name in ("min_lr_ratio", "weight_decay"):
            value = getattr(self, name)
            check(math.isfinite(value) and value >= 0, name, f"must be a finite number >= 0, got {value}")
        check(0 < self.eval_share <= 1, "eval_share", f"must be in (0, 1], got {self.eval_share}")


@dataclass
class RunSettings:
    """Where a training run starts from and where it writes (beside the model and the loop)."""

    preset: str = setting(
        "original",
        "model and batch sizes and the recipe: original (the original MovieGPT's), fast (minutes on a CPU), tiny "
        "(a smoke test)",
        choices=tuple(PRESETS),
        kinds=("gpt",),
    )
    out_dir: str | None = setting(
        None, "folder for this run's checkpoints and metrics.jsonl (default runs/<timestamp>)", check=NOT_EMPTY
    )
    resume: str | None = setting(
        None,
        "continue a run exactly: a checkpoint (file, URL, Drive link or id) or a run folder (its newest good one)",
        cli={"metavar": "PATH"},
    )
    init_from: str | None = setting(
        None,
        "fine-tune: a new run starting from this checkpoint's weights and vocabulary, on --training_data",
        cli={"metavar": "CHECKPOINT"},
    )
    wandb: str | None = setting(
        None,
        "wandb mode (default online when an API key is configured, else offline)",
        choices=("online", "offline", "disabled"),
    )
    wandb_project: str = setting("moviegpt", "wandb project name", resume=FREE)
    dist_timeout_minutes: float = setting(
        10.0,
        "under torchrun: how long a rank waits for the others before the job fails instead of hanging",
        check=above(0),
    )

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class TrainResult:
    checkpoint: Path
    step: int
    train_loss: float
    val_loss: float
