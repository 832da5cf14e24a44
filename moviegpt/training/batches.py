"""The Trainer's batches: windows of this rank's shard, titles dropped from a share of training rows (or replaced
by a phrase of the plot), moved to the device; and the mean loss over a fixed set of them (evaluation)."""

from __future__ import annotations

import torch

from moviegpt.data.dataset import TextDataset
from moviegpt.runtime import autocast
from moviegpt.training.config import TrainConfig
from moviegpt.training.distributed import DistContext, mean_across_ranks


class Batches:
    def __init__(
        self, dataset: TextDataset, config: TrainConfig, context_length: int, context: DistContext, device: torch.device
    ):
        self.dataset, self.config, self.context_length, self.device = dataset, config, context_length, device
        self.shard, self.context = (context.rank, context.world_size), context

    def get(self, split: str, generator: torch.Generator, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Training windows (titles dropped or replaced in a share), or windows of the same kind for evaluation."""
        config = self.config
        train = split == "train" and training
        dropout, pseudo = (config.title_dropout, config.pseudo_titles) if train else (0.0, 0.0)
        x, y = self.dataset.get_batch(
            split, config.batch_size, self.context_length, generator, self.shard, config.windows, dropout, pseudo
        )
        if self.device.type == "cuda":
            return x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True)
        return x.to(self.device), y.to(self.device)

    @torch.no_grad()
    def mean_loss(
        self, forward: torch.nn.Module, split: str, iters: int, seed: int, dtype: torch.dtype
    ) -> torch.Tensor:
        """The mean loss of `forward` over `iters` batches of the split drawn from `seed` (the same every time)."""
        generator = torch.Generator().manual_seed(seed)
        total = torch.zeros((), device=self.device)
        for _ in range(iters):
            x, y = self.get(split, generator, training=False)
            with autocast(self.device, dtype):
                total += forward(x, y)[1]
        return total / iters

    def mean_losses(self, forward: torch.nn.Module, iters: int, seed: int, dtype: torch.dtype) -> dict[str, float]:
        """Each split's mean loss, averaged across the ranks."""
        return {
            split: mean_across_ranks(self.mean_loss(forward, split, iters, seed, dtype), self.context).item()
            for split in ("train", "val")
        }
