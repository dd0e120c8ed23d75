"""Callbacks of our own: a one-line epoch summary in the run's log."""

from __future__ import annotations

import logging
import time

import lightning as L

log = logging.getLogger(__name__)


class EpochSummary(L.Callback):
    """Log each epoch's metrics and wall time, so `train.log` tells the story without a UI."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not hasattr(self, "_start"):
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if "step" not in k}
        text = "  ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
        seconds = time.perf_counter() - self._start
        log.info("epoch %d (%.1fs): %s", trainer.current_epoch, seconds, text)
