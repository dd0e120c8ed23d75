"""Progress that suits where the output goes: a live bar in a terminal, plain lines in a log.

`python train.py ... > run.log` (or CI, or SLURM) would otherwise fill the log with the
bar's carriage-return frames; there the one-line epoch summary (`epoch_summary`) plus a
step-rate line every N steps tell the same story.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar

log = logging.getLogger(__name__)


def progress_bar(refresh_rate: int = 10, every_n_steps: int = 100) -> ProgressBar:
    """Lightning's tqdm bar when stdout is a terminal, else a step-rate log line every N steps."""
    if sys.stdout.isatty():
        return TQDMProgressBar(refresh_rate=refresh_rate)
    return StepRateLog(every_n_steps)


class StepRateLog(ProgressBar):
    """A progress "bar" for logs: `epoch 3 step 200/1200: 41.5 steps/s, train/loss_step 0.51`.

    Being a ProgressBar, it takes the bar's place, so Lightning adds no tqdm bar of its own.
    """

    def __init__(self, every_n_steps: int = 100) -> None:
        super().__init__()
        if int(every_n_steps) < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        self.every_n_steps = int(every_n_steps)
        self._enabled = True
        self._since = (0.0, 0)

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._since = (time.perf_counter(), 0)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        done = batch_idx + 1
        if not self._enabled or done % self.every_n_steps or not trainer.is_global_zero:
            return
        started, steps_before = self._since
        now = time.perf_counter()
        rate = (done - steps_before) / max(now - started, 1e-9)
        self._since = (now, done)
        metrics = {  # this step's values; epoch-level ones would repeat the last epoch's
            k: v
            for k, v in self.get_metrics(trainer, pl_module).items()
            if isinstance(v, (int, float)) and k.endswith("_step")
        }
        text = "".join(f", {k} {v:.4g}" for k, v in sorted(metrics.items()))
        total = self.total_train_batches
        total_text = str(int(total)) if total != float("inf") else "?"
        log.info(
            "epoch %d step %d/%s: %.1f steps/s%s",
            trainer.current_epoch,
            done,
            total_text,
            rate,
            text,
        )
