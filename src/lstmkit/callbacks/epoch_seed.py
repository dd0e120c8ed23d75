"""Epochs seeded from (seed, epoch), so a resumed run replays an epoch bit for bit."""

from __future__ import annotations

import random

import lightning as L
import numpy as np
import torch


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A well-mixed 32-bit seed for this epoch (and DDP rank)."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


class EpochSeed(L.Callback):
    """Reseed torch, numpy and random at the first batch of each training epoch.

    Lightning checkpoints hold no RNG state, so after a resume dropout masks and teacher
    forcing draws would differ from an uninterrupted run's. Seeding each epoch from
    (seed, epoch) makes them a function of the epoch alone; the length-bucketed sampler's
    order already is.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int
    ) -> None:
        # at the first batch, not at epoch start: a fresh epoch creates its DataLoader iterator
        # (which draws from torch's RNG) after the epoch-start hooks, a resumed one before them
        if batch_idx != 0:
            return
        value = epoch_seed(self.seed, trainer.current_epoch, trainer.global_rank)
        torch.manual_seed(value)
        np.random.seed(value)
        random.seed(value)
