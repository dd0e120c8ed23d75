"""Callbacks of our own: a one-line epoch summary in the run's log, and the same as a table."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import lightning as L
import pandas as pd

from lstmkit.atomic import atomic_path

log = logging.getLogger(__name__)


class EpochSummary(L.Callback):
    """Log each epoch's metrics and wall time, so `train.log` tells the story without a UI.

    The same numbers go to `<run dir>/epochs.csv` (one row per epoch), which
    `scripts/show_run.py` reads as data; a resumed run keeps the rows of its earlier epochs.
    """

    def __init__(self, csv_name: str | None = "epochs.csv") -> None:
        self.csv_name = csv_name

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # runs after this epoch's validation, so train and val numbers are both current
        logged = trainer.callback_metrics
        metrics = {
            k.removesuffix("_epoch"): float(v)
            for k, v in logged.items()
            if not k.endswith("_step") and f"{k}_epoch" not in logged
        }
        text = "  ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
        seconds = time.perf_counter() - self._start
        log.info("epoch %d (%.1fs): %s", trainer.current_epoch, seconds, text)
        if self.csv_name and trainer.is_global_zero and not trainer.sanity_checking:
            row = {"epoch": trainer.current_epoch, "seconds": round(seconds, 3), **metrics}
            self._write(Path(trainer.default_root_dir) / self.csv_name, row)

    @staticmethod
    def _write(path: Path, row: dict[str, float]) -> None:
        """Rewrite the whole (small) table atomically: earlier epochs kept, this one replaced."""
        table = pd.DataFrame([row])
        if path.is_file():
            earlier = pd.read_csv(path)
            earlier = earlier[earlier["epoch"] < row["epoch"]]
            if len(earlier):
                table = pd.concat([earlier, table], ignore_index=True)
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
