"""Length-bucketed batches: examples of similar length share a batch, so little is padding."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Yield batches of indices of similar length; every example exactly once per epoch.

    Shuffling draws a random pool of `batch_size * pool_factor` examples, sorts it by length,
    cuts it into batches and shuffles the batch order: batches stay random across epochs while
    padding stays small. Without shuffling, batches are simply consecutive in sorted order.
    Under DDP each replica takes every `num_replicas`-th training batch (the batch count is
    rounded down to a multiple of `num_replicas` so every rank runs the same number of steps);
    evaluation shards examples instead, so every example is scored exactly once.
    """

    def __init__(
        self,
        lengths: np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        pool_factor: int = 50,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
        epoch: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool_factor = max(1, pool_factor)
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = epoch  # a resumed run builds its loader at the epoch it continues from

    @property
    def sampler(self) -> BucketBatchSampler:
        """Lightning calls `batch_sampler.sampler.set_epoch`, never `batch_sampler.set_epoch`."""
        return self

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at each epoch start so every epoch draws a new order."""
        self.epoch = epoch

    def _all_batches(self) -> list[np.ndarray]:
        n = len(self.lengths)
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            if self.num_replicas > 1:
                # evaluation under DDP: every example exactly once, each rank a similar share
                # (never zero batches, which would leave a rank out of the metric sync)
                order = order[self.rank :: self.num_replicas]
            size = self.batch_size
            batches = [order[i : i + size] for i in range(0, len(order), size)]
        else:
            rng = np.random.default_rng((self.seed, self.epoch))
            perm = rng.permutation(n)
            pool = self.batch_size * self.pool_factor
            batches = []
            for p in range(0, n, pool):
                chunk = perm[p : p + pool]
                chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                batches += [
                    chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
                ]
            batches = [batches[i] for i in rng.permutation(len(batches))]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.num_replicas > 1 and self.shuffle:
            usable = len(batches) - len(batches) % self.num_replicas
            batches = batches[self.rank : usable : self.num_replicas]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._all_batches():
            yield batch.tolist()

    def __len__(self) -> int:
        return len(self._all_batches())
