"""What the text and sequence classification DataModules share: labels and bucketed batches."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch.utils.data import DataLoader

from lstmkit.data.base import CsvDataModule
from lstmkit.data.batches import RaggedDataset, bucketed_loader
from lstmkit.data.labels import LabelMap
from lstmkit.data.replicas import Replicas


class ClassificationData(CsvDataModule):
    """Labelled ragged splits served in length-bucketed batches.

    Subclasses fill `splits` and `labels` in `_load`, and set `pool_factor` in `__init__`.
    """

    splits: dict[str, RaggedDataset]
    labels: LabelMap | None = None
    pool_factor: int

    def task_kwargs(self) -> dict[str, Any]:
        """Facts the LightningModule needs: class names and training class counts."""
        assert self.labels is not None, "call setup() first"
        targets = self.splits["train"].targets
        assert targets is not None, "classification data has targets"
        counts = np.bincount(targets, minlength=len(self.labels.names))
        return {
            "num_classes": len(self.labels.names),
            "class_names": self.labels.names,
            "class_counts": counts.tolist(),
        }

    def repeat_train(self, times: int) -> bool:
        """Tile the training examples: shuffled together, each epoch sees each one `times` times."""
        self._once = data = getattr(self, "_once", None) or self.splits["train"]
        tile = np.tile(np.arange(len(data)), times)
        assert data.targets is not None, "classification splits carry targets"
        self.splits["train"] = RaggedDataset(data.inputs.take(tile), data.targets[tile])
        return True

    def _loader(self, split: str, train: bool, replicas: Replicas) -> DataLoader:
        return bucketed_loader(
            self.splits[split],
            self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            seed=self.seed,
            pool_factor=self.pool_factor,
            num_workers=self.num_workers,
            replicas=replicas,
        )
