"""The training loop: optimizer steps with mixed precision and gradient accumulation, evaluations, checkpoints.

What it consults lives beside it: the schedule of the learning rate (optim.py), the time budget and the evaluation
schedule (budget.py) and the checkpoint policy (run_folder.py)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from moviegpt.checkpoint import Checkpoint
from moviegpt.data.dataset import TextDataset
from moviegpt.errors import UserError
from moviegpt.models import LanguageModel
from moviegpt.runtime import CompiledModel, autocast, resolve_compile
from moviegpt.training import randomness
from moviegpt.training.batches import Batches
from moviegpt.training.budget import Clock, EvalSchedule, SaveSchedule, TimeBudget
from moviegpt.training.config import TrainConfig, TrainResult
from moviegpt.training.distributed import (
    SINGLE,
    DistContext,
    gather_from_all,
    gradient_sync,
    mean_across_ranks,
    wrap_for_data_parallel,
)
from moviegpt.training.optim import Schedule, make_optimizer
from moviegpt.training.plot_weights import PlotWeights
from moviegpt.training.progress import Progress, position
from moviegpt.training.run_folder import RunCheckpoints
from moviegpt.training.threads import ThreadGovernor, step_seconds
from moviegpt.training.tracking import RunLogger

SYNC_EVERY = 8  # under torchrun, steps between the ranks' agreements on the time and on stopping


def diverged(what: str, step: int) -> UserError:
    return UserError(f"training diverged: {what} at step {step}; try a lower --lr (earlier checkpoints were kept)")


class Trainer:
    """Trains a model on a TextDataset and writes checkpoints and metrics into out_dir."""

    def __init__(
        self,
        model: LanguageModel,
        dataset: TextDataset,
        config: TrainConfig,
        device: torch.device,
        dtype: torch.dtype,
        logger: RunLogger,
        checkpoints: RunCheckpoints | None = None,
        header: dict[str, Any] | None = None,
        context: DistContext = SINGLE,
        clock: Clock = time.perf_counter,
        chars_per_token: float = 1.0,
    ):
        """checkpoints: where saves go (None on ranks other than 0); header: the Checkpoint fields of the run, not
        the loop (tokenizer, record_format, train_args). As in nanoGPT: model to device, optimizer, compile, then
        data parallelism; `model` stays the plain module, saved and evaluated."""
        self.model = model.to(device)
        self.dataset, self.config, self.context = dataset, config, context
        self.device, self.dtype, self.logger = device, dtype, logger
        self.checkpoints, self.header = checkpoints, header or {}
        self.context_length = model.config.context_length
        self.optimizer = make_optimizer(self.model, config, device, dtype)
        self.data_generator = torch.Generator().manual_seed(config.seed)
        self.batches = Batches(dataset, config, self.context_length, context, device)
        compiled = CompiledModel(self.model) if resolve_compile(config.compile, device) else self.model
        self.forward = wrap_for_data_parallel(compiled, context, device)
        self.global_batch = config.batch_size * config.grad_accum * context.world_size
        self.steps_per_epoch = dataset.steps_per_epoch(self.global_batch, self.context_length)
        planned = self.steps_per_epoch * config.epochs
        self.total_steps = min(planned, config.max_iters) if config.max_iters else planned
        self.budget = TimeBudget(config.max_minutes, clock, context)
        self.schedule = Schedule(config, self.total_steps, lambda: self.budget.fraction)
        # An evaluation costs about eval_iters training steps; keep it a small share of the run.
        interval = config.eval_interval or max(self.steps_per_epoch // 4, 4 * config.eval_iters)
        self.evals = EvalSchedule(interval, config.eval_share, timed=bool(config.max_minutes))
        self.saves = SaveSchedule(config.checkpoint_every_steps, config.checkpoint_every_minutes)
        self.step, self.tokens_seen, self.stop_requested, self.stop_agreed = 0, 0, False, False
        self.last_losses: dict[str, float] = {}
        self.since = (0.0, 0)  # (elapsed seconds, tokens seen) at the last train-loss log
        self.chars_per_token = chars_per_token  # word and BPE tokens: losses are shown per character too
        self.first_step, self.started = 0, 0.0  # where and when this process's training began
        self.threads: ThreadGovernor | None = None
        self.plot_weights = PlotWeights.for_training(dataset.tokenizer, config, device)
        self.progress_view = Progress(self.total_steps, 0, enabled=False, chars_per_token=chars_per_token)

    def state_dict(self, epoch: int, epoch_completed: bool, rng: list[Any]) -> dict[str, Any]:
        """What exact resume needs besides the weights: optimizer, scaler, counters, clock, every rank's RNGs."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.optimizer.scaler.state_dict(),
            "epoch": epoch,
            "epoch_completed": epoch_completed,
            "step": self.step,
            "tokens_seen": self.tokens_seen,
            "budget": self.budget.state_dict(),
            "lr": self.schedule.state_dict(self.step, self.horizon()),
            "rng": {"data": self.data_generator.get_state(), "ranks": rng},
            "train_config": asdict(self.config),
            "metrics": {"train_loss": self.last_losses.get("train"), "val_loss": self.last_losses.get("val")},
            "wandb_run_id": self.logger.wandb_run_id,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where a checkpoint of this run left off: optimizer, scaler, counters, training time and
        this rank's RNGs (the weights are the caller's to load; the position in the epoch follows from the step)."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.optimizer.load_scaler_state(state["scaler"])
        self.step, self.tokens_seen = state["step"], state["tokens_seen"]
        self.budget.load_state_dict(state.get("budget") or {})
        self.schedule.load_state_dict(state.get("lr") or {}, self.horizon())
        if self.checkpoints is not None:
            self.checkpoints.best_val_loss = state.get("best_val_loss", math.inf)
        saved = state.get("metrics") or {}
        self.last_losses = {split: saved[f"{split}_loss"] for split in ("train", "val") if saved.get(f"{split}_loss")}
        self.data_generator.set_state(state["rng"]["data"])
        randomness.restore_rank(state["rng"], self.context.rank, self.device, self.config.seed + self.context.rank)

    def request_stop(self) -> None:  # finish the current step, then evaluate, checkpoint and return
        self.stop_requested = True

    def horizon(self) -> list[float | None]:  # where the run is planned to end (changed on resume: extended)
        return [self.total_steps, self.budget.max_seconds]

    def should_stop(self) -> bool:
        """Whether to stop after this step: the plan (epochs, --max_iters) is done, the budget is spent or a stop
        was asked for. Under torchrun the ranks agree on the time (rank 0's) and on any rank's stop request every
        SYNC_EVERY steps only, so that steps do not wait on the host; all ranks stop at the same step."""
        if not self.context.enabled or self.step % SYNC_EVERY == 0:
            self.stop_agreed = self.budget.sync(self.stop_requested, self.device)
        return self.stop_agreed or self.plan_done or self.budget.exhausted

    def at(self) -> str:
        return position(self.step, self.steps_per_epoch, self.config.epochs)

    @property
    def plan_done(self) -> bool:  # every step the plan asks for (epochs, --max_iters) is taken
        return self.step >= min(self.steps_per_epoch * self.config.epochs, self.config.max_iters or math.inf)

    def accumulate_gradients(self) -> torch.Tensor:
        """Forward and backward over grad_accum micro-batches; returns their mean loss (a tensor, no sync)."""
        total = torch.zeros((), device=self.device)
        for micro_step in range(self.config.grad_accum):
            x, y = self.batches.get("train", self.data_generator, training=True)
            self.last_inputs = x
            with gradient_sync(self.forward, sync=micro_step == self.config.grad_accum - 1):
                with autocast(self.device, self.dtype):
                    if self.plot_weights is None:
                        loss = self.forward(x, y)[1]
                    else:  # the model's own (plain) loss is not computed
                        loss = self.plot_weights.loss(self.forward(x)[0], y)
                loss = loss / self.config.grad_accum
                self.optimizer.scaler.scale(loss).backward()
            total += loss.detach()
            self.tokens_seen += x.numel() * self.context.world_size  # all ranks together
        return total

    def train_step(self) -> torch.Tensor:
        """One optimizer step; returns the loss as a tensor, so no host synchronisation happens here."""
        self.optimizer.set_lr_factor(self.schedule.factor(self.step))
        loss = self.accumulate_gradients()
        self.optimizer.step(self.model.parameters(), self.config.grad_clip)
        self.step += 1
        return loss

    def evaluate(self) -> dict[str, float]:
        """Mean loss over eval_iters batches per split; the same batches every time (fixed seed)."""
        self.model.eval()
        config = self.config
        self.last_losses = self.batches.mean_losses(self.forward, config.eval_iters, config.seed + 1, self.dtype)
        self.model.train()
        return self.last_losses

    def event(self, epoch: int, **metrics: float) -> dict[str, Any]:
        elapsed = round(self.budget.elapsed(), 3)
        return {"step": self.step, "epoch": epoch, "tokens_seen": self.tokens_seen, "elapsed_s": elapsed, **metrics}

    def run_evaluation(self, epoch: int, announce: bool = False) -> dict[str, float]:
        start = self.budget.now
        losses = self.evaluate()
        self.budget.sync(False, self.device)  # how long it took, as rank 0 measured it (every rank decides alike)
        self.evals.record(self.step, start, self.budget.now)
        if not all(math.isfinite(v) for v in losses.values()):
            raise diverged("evaluation loss is not finite", self.step)
        perplexity = math.exp(min(losses["val"], 50.0))
        self.logger.log(
            self.event(epoch, eval_train_loss=losses["train"], val_loss=losses["val"], val_perplexity=perplexity)
        )
        if announce:
            self.progress_view.write(f"step {self.step}: {self.progress_view.losses_line(losses)}")
        return losses

    def save(self, epoch: int, epoch_completed: bool, losses: dict[str, float] | None) -> Path | None:
        """This epoch's checkpoint, written by rank 0 (every rank hands it its RNG states); losses None for a
        periodic save between evaluations. NaN or infinite weights are never saved (earlier checkpoints stay)."""
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise diverged("the weights are not finite", self.step)
        rng = gather_from_all(randomness.capture(self.device), self.context)
        self.saves.saved(self.budget.now)  # on every rank
        if self.checkpoints is None:
            return None
        checkpoint = Checkpoint(
            model_config=self.model.config.to_dict(),
            model=self.model.state_dict(),
            trainer=self.state_dict(epoch, epoch_completed, rng),
            **self.header,
        )
        return self.checkpoints.write(epoch, checkpoint, losses["val"] if losses else None)

    def log_train_loss(self, loss: torch.Tensor, epoch: int) -> None:
        """Synchronise once every logging_steps: check the loss, show it and log it."""
        value = mean_across_ranks(loss, self.context).item()
        if not math.isfinite(value):
            raise diverged(f"loss is {value}", self.step)
        now = self.budget.elapsed()
        tokens_per_s = (self.tokens_seen - self.since[1]) / max(now - self.since[0], 1e-9)
        per_step, budget = (now - self.started) / max(self.step - self.first_step, 1), self.budget.max_seconds
        self.progress_view.report(self.step, value, tokens_per_s, now, per_step, budget and budget - now)
        self.progress_view.epoch_time(self.steps_per_epoch, per_step)
        self.logger.log(self.event(epoch, train_loss=value, tokens_per_s=tokens_per_s, lr=self.optimizer.lr))
        self.since = (now, self.tokens_seen)

    def end_of_epoch(self, epoch: int, completed: bool, final: bool) -> tuple[Path | None, dict[str, float] | None]:
        """This step's losses (evaluated unless just done; timed runs: when due or at the end) and checkpoint."""
        losses = self.last_losses if self.evals.last_step == self.step else None
        if losses is None and (final or self.evals.time_allows(self.budget.now)):
            losses = self.run_evaluation(epoch)
        path = self.save(epoch, completed, losses)
        if losses:
            where = f"epoch {epoch}" if completed else f"step {self.step} ({self.at()})"
            self.progress_view.write(f"{where}: {self.progress_view.losses_line(losses)}, checkpoint {path}")
        return path, losses

    def timed_step(self) -> torch.Tensor:  # the step's time goes to the thread governor (on a CPU)
        started = time.perf_counter()
        loss = self.train_step()
        if self.threads is not None:
            self.threads.after_step(time.perf_counter() - started)
        self.progress_view.update()
        return loss

    def begin(self) -> None:
        """Refuse a run with nothing left to do; start the clock, the progress view and the thread governor."""
        if self.plan_done:
            raise UserError(
                f"nothing left to train: the run is at step {self.step} ({self.at()}); "
                "raise --epochs or --max_iters to go on"
            )
        self.model.train()
        self.budget.restart()
        self.saves.restart(self.budget.now)
        self.since = (self.budget.elapsed(), self.tokens_seen)
        self.first_step, self.started = self.step, self.budget.elapsed()
        hint = "--preset fast trains in minutes on a CPU" if self.device.type == "cpu" else ""
        self.progress_view = Progress(
            self.total_steps, self.step, self.context.is_main, slow_epoch=hint, chars_per_token=self.chars_per_token
        )
        probe = lambda threads: step_seconds(self.model, self.last_inputs, threads, self.dtype)  # noqa: E731
        fixed = self.config.threads is not None
        self.threads = ThreadGovernor.for_training(self.device, self.context, self.note, probe, fixed=fixed)

    def note(self, line: str) -> None:
        """Say it, and log it with the thread count (the governor's switches: the run's log shows each)."""
        self.progress_view.write(line)
        self.logger.log({"step": self.step, "threads": torch.get_num_threads(), "note": line})

    def train(self) -> TrainResult:
        """The loop: a step and its log; an evaluation when due; at the end of an epoch or of the run, the epoch's
        losses and checkpoint; between them, the periodic saves. Every rank takes each decision alike."""
        self.begin()
        try:
            while True:
                epoch = self.step // self.steps_per_epoch + 1  # the epoch this step belongs to
                loss = self.timed_step()
                if self.step % self.config.logging_steps == 0 or self.step == self.first_step + 1:  # from the first
                    self.log_train_loss(loss, epoch)
                stop = self.should_stop()
                if self.evals.due(self.step, self.budget.now):  # the agreed time: every rank evaluates together
                    self.run_evaluation(epoch, announce=True)
                completed = self.step % self.steps_per_epoch == 0
                if stop or completed:
                    path, losses = self.end_of_epoch(epoch, completed, final=stop)
                    if stop:
                        break
                elif self.saves.due(self.step, self.budget.now):
                    self.save(epoch, False, None)
        finally:
            self.progress_view.close()
        return TrainResult(path, self.step, losses["train"], losses["val"])
