"""Dataset that returns whole padded batches: one vectorised gather per batch."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from lstmkit.data.ragged import Ragged
from lstmkit.data.replicas import Replicas
from lstmkit.data.sampler import BucketBatchSampler


class BatchDataset(Dataset):
    """A dataset that builds whole batches: DataLoader hands `__getitems__` a batch of indices.

    Subclasses write `__len__` and `__getitems__` (one vectorised gather per batch); a single
    example is a batch of one.
    """

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([i])

    def __getitems__(self, index: list[int]) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class RaggedDataset(BatchDataset):
    """Inputs as a Ragged array, one target per example (or a Ragged of targets).

    DataLoader calls `__getitems__` with a batch of indices, so padding happens once per
    batch in numpy; `collate` only passes the ready batch through.
    """

    def __init__(self, inputs: Ragged, targets: np.ndarray | None = None) -> None:
        self.inputs = inputs
        self.targets = targets

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitems__(self, index: list[int]) -> dict[str, torch.Tensor]:
        idx = np.asarray(index, dtype=np.int64)
        padded, mask = self.inputs.pad(idx)
        batch = {
            "inputs": torch.from_numpy(np.ascontiguousarray(padded)),
            "lengths": torch.from_numpy(mask.sum(1).astype(np.int64)),
        }
        if self.targets is not None:
            batch["targets"] = torch.from_numpy(np.asarray(self.targets[idx]))
        return batch


def collate(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The batch is already padded by `RaggedDataset.__getitems__`."""
    return batch


def batch_loader(data: Dataset, batch_sampler: Sampler[list[int]], num_workers: int) -> DataLoader:
    """A DataLoader over whole batches: the sampler picks them, the dataset pads them."""
    return DataLoader(
        data,
        batch_sampler=batch_sampler,
        # the stubs expect a list of samples; with __getitems__ the batch arrives whole
        collate_fn=collate,  # type: ignore[arg-type]
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )


def bucketed_loader(
    data: RaggedDataset,
    batch_size: int,
    shuffle: bool,
    seed: int,
    pool_factor: int,
    num_workers: int,
    replicas: Replicas | None = None,
) -> DataLoader:
    """A DataLoader of length-bucketed batches, sharded across DDP `replicas`.

    The sampler starts at the replicas' epoch, so a resumed run draws the same order.
    """
    replicas = replicas or Replicas()
    sampler = BucketBatchSampler(
        data.inputs.lengths,
        batch_size,
        shuffle=shuffle,
        seed=seed,
        pool_factor=pool_factor,
        num_replicas=replicas.world_size,
        rank=replicas.rank,
        epoch=replicas.epoch,
    )
    return batch_loader(data, sampler, num_workers)
