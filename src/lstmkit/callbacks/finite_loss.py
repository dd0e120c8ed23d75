"""Stop a diverged run at once with a clear message instead of training on NaN for hours."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from lstmkit.errors import UserError


class TrainingDiverged(UserError):
    """The training loss became NaN or infinite (in a sweep: the job is recorded as failed)."""


class FiniteLoss(L.Callback):
    """Raise TrainingDiverged on the first non-finite training loss, naming its step.

    Lightning keeps stepping on a NaN loss and the best checkpoint hides it; a sweep then
    ranks a broken trial as if it had finished. Failing fast makes it a failed job instead.
    On CPU the check is immediate. On an accelerator, reading the loss every step would
    stall the device queue, so the first bad step is recorded on the device and read back
    every `check_every` batches and at the end of each epoch.
    """

    def __init__(self, check_every: int = 50) -> None:
        self.check_every = check_every
        self._first_bad: torch.Tensor | None = None  # device scalar: first bad step, or -1

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not isinstance(loss, torch.Tensor):
            return
        step = trainer.global_step
        if loss.device.type == "cpu":
            if not torch.isfinite(loss).all():
                self._fail(trainer, step, float(loss))
            return
        if self._first_bad is None:
            self._first_bad = torch.full((), -1, dtype=torch.long, device=loss.device)
        bad = ~torch.isfinite(loss.detach()).all() & (self._first_bad < 0)
        self._first_bad = torch.where(bad, torch.full_like(self._first_bad, step), self._first_bad)
        if (batch_idx + 1) % self.check_every == 0:
            self._check(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def _check(self, trainer: L.Trainer) -> None:
        if self._first_bad is not None and (step := int(self._first_bad)) >= 0:
            self._fail(trainer, step, float("nan"))

    @staticmethod
    def _fail(trainer: L.Trainer, step: int, value: float) -> None:
        raise TrainingDiverged(
            f"training loss became {value} at epoch {trainer.current_epoch}, step {step}: "
            "lower optimizer.lr or set trainer.gradient_clip_val."
        )
