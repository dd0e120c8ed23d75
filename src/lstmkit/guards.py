"""Stop a diverged run at once with a clear message instead of training on NaN for hours."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from lstmkit.errors import UserError


class TrainingDiverged(UserError):
    """The training loss became NaN or infinite (in a sweep: the job is recorded as failed)."""


class FiniteLoss(L.Callback):
    """Raise TrainingDiverged on the first non-finite training loss.

    Lightning keeps stepping on a NaN loss and the best checkpoint hides it; a sweep then
    ranks a broken trial as if it had finished. Failing fast makes it a failed job instead.
    """

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor) and not torch.isfinite(loss).all():
            raise TrainingDiverged(
                f"training loss became {loss.item()} at epoch {trainer.current_epoch}, "
                f"step {trainer.global_step}: lower optimizer.lr or set trainer.gradient_clip_val."
            )
