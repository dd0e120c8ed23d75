"""An exponential moving average (EMA) of the weights, used for validation, checkpoints and test.

Lightning's `EMAWeightAveraging` swaps the averaged weights in for every validation epoch and
writes them as the checkpoint's `state_dict` (the live weights go to `current_model_state`, for
resume). Early stopping, the best checkpoint and the sweep objective therefore all judge the
averaged network, and predict / export read it like any checkpoint.

One fix on top: Lightning's callback also reloads `current_model_state` when the same trainer
later *tests* the best checkpoint, so `trainer.test(ckpt_path=best)` would score the live
weights of that epoch instead of the averaged ones that were validated. Outside fitting we
keep the checkpoint's `state_dict` (the average).
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import EMAWeightAveraging
from lightning.pytorch.trainer.states import TrainerFn

from lstmkit.errors import ConfigError


class WeightEMA(EMAWeightAveraging):
    """EMA of every parameter; `decay` per optimiser step (0.98: about a 50-step memory)."""

    def __init__(self, decay: float = 0.98, start_step: int = 0) -> None:
        if not 0.0 < decay < 1.0:
            raise ConfigError(
                f"callbacks.weight_averaging.decay must be in (0, 1), got {decay}; "
                "0.98 remembers about 50 optimiser steps, 0.999 about 1000."
            )
        super().__init__(decay=decay, update_starting_at_step=start_step)

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if trainer.state.fn == TrainerFn.FITTING:  # resume: live weights and the average
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
