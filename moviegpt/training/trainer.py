"""The training loop: AdamW, warmup + cosine schedule, mixed precision, evaluation, checkpoints."""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from moviegpt.checkpoint import Checkpoint
from moviegpt.data.dataset import TextDataset
from moviegpt.errors import UserError
from moviegpt.models import LanguageModel
from moviegpt.runtime import CompiledModel, autocast, resolve_compile
from moviegpt.training.config import TrainConfig, TrainResult
from moviegpt.training.distributed import (
    SINGLE,
    DistContext,
    any_rank,
    gradient_sync,
    mean_across_ranks,
    wrap_for_data_parallel,
)
from moviegpt.training.optim import lr_factor, make_optimizer
from moviegpt.training.run_folder import RunCheckpoints
from moviegpt.training.tracking import RunLogger


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
    ):
        """checkpoints: where saves go (None on ranks other than 0); header: the Checkpoint fields that describe
        the run rather than the loop (tokenizer, record_format, train_args)."""
        self.model, self.dataset, self.config = model, dataset, config
        self.context = context  # under torchrun: each rank trains on its slice of every global batch
        self.device, self.dtype, self.logger = device, dtype, logger
        self.checkpoints, self.header = checkpoints, header or {}
        self.context_length = model.config.context_length
        self.optimizer = make_optimizer(model, config, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
        self.data_generator = torch.Generator().manual_seed(config.seed)
        self.forward = wrap_for_data_parallel(
            CompiledModel(model) if resolve_compile(config.compile, device) else model, context, device
        )
        self.global_batch = config.batch_size * config.grad_accum * context.world_size
        self.steps_per_epoch = dataset.steps_per_epoch(self.global_batch, self.context_length)
        planned = self.steps_per_epoch * config.epochs
        self.total_steps = min(planned, config.max_iters) if config.max_iters else planned
        default_warmup = min(100, max(1, self.total_steps // 20))
        self.warmup = config.warmup_iters if config.warmup_iters is not None else default_warmup
        # An evaluation costs about eval_iters training steps; keep it a small share of the run.
        self.eval_interval = config.eval_interval or max(self.steps_per_epoch // 4, 4 * config.eval_iters)
        self.step = 0
        self.tokens_seen = 0
        self.stop_requested = False
        self.last_losses: dict[str, float] = {}
        self.last_eval_step = -1
        self.last_eval_seconds, self.last_eval_end = 0.0, 0.0
        self.since = (0.0, 0)  # (elapsed seconds, tokens seen) at the last train-loss log
        self.start_time = time.perf_counter()

    def state_dict(self, epoch: int, epoch_completed: bool) -> dict[str, Any]:
        """What exact resume needs besides the weights: optimizer, scaler, counters, RNGs, last losses."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": epoch,
            "epoch_completed": epoch_completed,
            "step": self.step,
            "tokens_seen": self.tokens_seen,
            "rng": {"torch": torch.get_rng_state(), "data": self.data_generator.get_state()},
            "train_config": asdict(self.config),
            "metrics": {"train_loss": self.last_losses.get("train"), "val_loss": self.last_losses.get("val")},
            "wandb_run_id": self.logger.wandb_run_id,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where a checkpoint of this run left off: optimizer, scaler, counters and RNGs.

        The model weights are the caller's to load (they define the model). The position in the epoch follows
        from the step, as every epoch has steps_per_epoch steps.
        """
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.tokens_seen = state["step"], state["tokens_seen"]
        if self.checkpoints is not None:
            self.checkpoints.best_val_loss = state.get("best_val_loss", math.inf)
        saved = state.get("metrics") or {}
        self.last_losses = {split: saved[f"{split}_loss"] for split in ("train", "val") if saved.get(f"{split}_loss")}
        self.data_generator.set_state(state["rng"]["data"])
        torch.set_rng_state(state["rng"]["torch"])

    def request_stop(self) -> None:
        """Finish the current step, then evaluate, checkpoint and return (as --max_iters would)."""
        self.stop_requested = True

    def elapsed(self) -> float:
        return time.perf_counter() - self.start_time

    def progress(self) -> float:
        """Fraction of the run done: by steps, or by time when a --max_minutes budget ends it sooner."""
        done = self.step / self.total_steps
        if self.config.max_minutes:
            done = max(done, self.elapsed() / (60 * self.config.max_minutes))
        return done

    def should_stop(self) -> bool:
        """Whether to stop now; under torchrun all ranks stop together when any one must."""
        stop = bool(self.stop_requested or (self.config.max_iters and self.step >= self.config.max_iters))
        stop = stop or bool(self.config.max_minutes) and self.elapsed() >= 60 * self.config.max_minutes
        return any_rank(stop, self.context, self.device)

    def batch(self, split: str, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.dataset.get_batch(
            split,
            self.config.batch_size,
            self.context_length,
            generator,
            shard=(self.context.rank, self.context.world_size),
        )
        if self.device.type == "cuda":
            return x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True)
        return x.to(self.device), y.to(self.device)

    def accumulate_gradients(self) -> torch.Tensor:
        """Forward and backward over grad_accum micro-batches; returns their mean loss (a tensor, no sync)."""
        total = torch.zeros((), device=self.device)
        for micro_step in range(self.config.grad_accum):
            x, y = self.batch("train", self.data_generator)
            with gradient_sync(self.forward, sync=micro_step == self.config.grad_accum - 1):
                with autocast(self.device, self.dtype):
                    _, loss = self.forward(x, y)
                loss = loss / self.config.grad_accum
                self.scaler.scale(loss).backward()
            total += loss.detach()
            self.tokens_seen += x.numel() * self.context.world_size  # all ranks together
        return total

    def train_step(self) -> torch.Tensor:
        """One optimizer step; returns the loss as a tensor, so no host synchronisation happens here."""
        self.optimizer.set_lr_factor(lr_factor(self.config, self.step, self.progress(), self.warmup))
        loss = self.accumulate_gradients()
        for optimizer in self.optimizer.optimizers.values():
            self.scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        for optimizer in self.optimizer.optimizers.values():
            self.scaler.step(optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return loss

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean loss over eval_iters batches per split; the same batches every time (fixed seed)."""
        self.model.eval()
        losses = {}
        for split in ("train", "val"):
            generator = torch.Generator().manual_seed(self.config.seed + 1)
            total = torch.zeros((), device=self.device)
            for _ in range(self.config.eval_iters):
                x, y = self.batch(split, generator)
                with autocast(self.device, self.dtype):
                    total += self.forward(x, y)[1]
            losses[split] = mean_across_ranks(total / self.config.eval_iters, self.context).item()
        self.model.train()
        self.last_losses, self.last_eval_step = losses, self.step
        return losses

    def event(self, epoch: int, **metrics: float) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": epoch,
            "tokens_seen": self.tokens_seen,
            "elapsed_s": round(self.elapsed(), 3),
            **metrics,
        }

    def evaluation_due(self) -> bool:
        """Under --max_minutes, skip an evaluation until training has had (1 - eval_share) of the time since the
        last one, so evaluations take at most about eval_share of the budget however slow they are."""
        if not self.config.max_minutes:
            return True
        since = self.elapsed() - self.last_eval_end
        due = since >= self.last_eval_seconds * (1 / self.config.eval_share - 1)
        return any_rank(due, self.context, self.device)  # every rank evaluates together (a collective)

    def run_evaluation(self, epoch: int) -> dict[str, float]:
        start = self.elapsed()
        losses = self.evaluate()
        self.last_eval_seconds, self.last_eval_end = self.elapsed() - start, self.elapsed()
        if not all(math.isfinite(v) for v in losses.values()):
            raise UserError(
                f"training diverged: evaluation loss is not finite at step {self.step}; "
                "try a lower --lr (earlier checkpoints were kept)"
            )
        self.logger.log(
            self.event(
                epoch,
                eval_train_loss=losses["train"],
                val_loss=losses["val"],
                val_perplexity=math.exp(min(losses["val"], 50.0)),
            )
        )
        return losses

    def check_weights_finite(self) -> None:
        """Refuse to save NaN or infinite weights (a diverged run); earlier checkpoints stay as they are."""
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise UserError(
                f"training diverged: the weights are not finite at step {self.step}; "
                "try a lower --lr (earlier checkpoints were kept)"
            )

    def save(self, epoch: int, epoch_completed: bool, losses: dict[str, float] | None) -> Path | None:
        """This epoch's checkpoint (written by rank 0 alone); losses None for a periodic save between evaluations."""
        self.check_weights_finite()
        if self.checkpoints is None:
            return None
        checkpoint = Checkpoint(
            model_config=self.model.config.to_dict(),
            model=self.model.state_dict(),
            trainer=self.state_dict(epoch, epoch_completed),
            **self.header,
        )
        return self.checkpoints.write(epoch, checkpoint, losses["val"] if losses else None)

    def log_train_loss(self, loss: torch.Tensor, epoch: int, bar: tqdm, since: tuple[float, int]) -> tuple[float, int]:
        """Synchronise once every logging_steps: check the loss, show it and log it."""
        value = mean_across_ranks(loss, self.context).item()
        if not math.isfinite(value):
            raise UserError(
                f"training diverged: loss is {value} at step {self.step}; "
                "try a lower --lr (earlier checkpoints were kept)"
            )
        now = self.elapsed()
        tokens_per_s = (self.tokens_seen - since[1]) / max(now - since[0], 1e-9)
        bar.set_postfix(loss=f"{value:.4f}", tok_s=f"{tokens_per_s:,.0f}")
        self.logger.log(
            self.event(epoch, train_loss=value, tokens_per_s=tokens_per_s, lr=self.optimizer.param_groups[0]["lr"])
        )
        return now, self.tokens_seen

    def run_steps(self, epoch: int, steps: int, bar: tqdm) -> bool:
        """Up to `steps` optimizer steps of this epoch with logging, evaluations and periodic saves;
        returns whether the run should stop early."""
        for _ in range(steps):
            loss = self.train_step()
            bar.update(1)
            if self.step % self.config.logging_steps == 0:
                self.since = self.log_train_loss(loss, epoch, bar, self.since)
            if self.step % self.eval_interval == 0 and self.evaluation_due():
                losses = self.run_evaluation(epoch)
                bar.write(f"step {self.step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
            if self.should_stop():
                return True
            if self.checkpoints and self.checkpoints.due(self.step) and self.step % self.steps_per_epoch:
                self.save(epoch, False, None)
        return False

    def epoch_end_losses(self, epoch: int, final: bool) -> dict[str, float] | None:
        """This step's losses (evaluating unless just done); under --max_minutes only when due or at the end."""
        if self.last_eval_step == self.step:
            return self.last_losses
        return self.run_evaluation(epoch) if final or self.evaluation_due() else None

    def train(self) -> TrainResult:
        self.model.to(self.device).train()
        self.since = (0.0, self.tokens_seen)
        first_epoch, done_in_epoch = divmod(self.step, self.steps_per_epoch)
        if first_epoch >= self.config.epochs or (self.config.max_iters and self.step >= self.config.max_iters):
            raise UserError(
                f"nothing left to train: the run is at step {self.step}, epoch {first_epoch} of "
                f"{self.config.epochs}; raise --epochs or --max_iters to go on"
            )
        for epoch in range(first_epoch + 1, self.config.epochs + 1):
            with tqdm(
                total=self.steps_per_epoch,
                initial=done_in_epoch,
                desc=f"epoch {epoch}/{self.config.epochs}",
                unit="step",
                dynamic_ncols=True,
                mininterval=0.5,
                disable=not self.context.is_main,
            ) as bar:
                stop = self.run_steps(epoch, self.steps_per_epoch - done_in_epoch, bar)
            done_in_epoch = 0
            losses = self.epoch_end_losses(epoch, final=stop or epoch == self.config.epochs)
            path = self.save(epoch, not stop or self.step % self.steps_per_epoch == 0, losses)
            if losses:
                print(
                    f"epoch {epoch}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}, checkpoint {path}",
                    flush=True,
                )
            if stop:
                break
        return TrainResult(path, self.step, losses["train"], losses["val"])
