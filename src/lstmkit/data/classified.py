"""What the text and sequence classification DataModules share once `setup()` has run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from lstmkit.data.batches import RaggedDataset, bucketed_loader
from lstmkit.data.labels import LabelMap


class ClassificationData(L.LightningDataModule):
    """Labelled ragged splits served in length-bucketed batches.

    Subclasses read, split, fit and cache in `setup()`, filling `splits`, `labels` and
    `cache_folder`, and set the batching attributes in `__init__`; `preprocessor_files` are the
    cache files that predict needs from the run folder.
    """

    preprocessor_files: tuple[str, ...] = ("preprocessor.json", "meta.json")
    splits: dict[str, RaggedDataset]
    labels: LabelMap | None
    cache_folder: Path | None
    batch_size: int
    eval_batch_size: int
    seed: int
    pool_factor: int
    num_workers: int

    def task_kwargs(self) -> dict[str, Any]:
        """Facts the LightningModule needs: class names and training class counts."""
        assert self.labels is not None, "call setup() first"
        counts = np.bincount(self.splits["train"].targets, minlength=len(self.labels.names))
        return {
            "num_classes": len(self.labels.names),
            "class_names": self.labels.names,
            "class_counts": counts.tolist(),
        }

    def save_preprocessor(self, folder: str | Path) -> None:
        """Copy the fitted preprocessing (label map, tokenizer or scaler) into the run folder."""
        assert self.cache_folder is not None, "call setup() first"
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.preprocessor_files:
            shutil.copy2(self.cache_folder / name, folder / name)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if split not in self.splits:
            self.setup()
        return bucketed_loader(
            self.splits[split],
            self.batch_size if shuffle else self.eval_batch_size,
            shuffle=shuffle,
            seed=self.seed,
            pool_factor=self.pool_factor,
            num_workers=self.num_workers,
            trainer=getattr(self, "trainer", None),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
