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
