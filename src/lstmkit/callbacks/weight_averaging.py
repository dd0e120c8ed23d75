"""An exponential moving average (EMA) of the weights, used for validation, checkpoints and test.

Lightning's `WeightAveraging` swaps the averaged weights in for every validation epoch and
writes them as the checkpoint's `state_dict` (the live weights go to `current_model_state`, for
resume). Early stopping, the best checkpoint and the sweep objective therefore all judge the
averaged network, and predict / export read it like any checkpoint.

The decay follows the run: a memory of `memory_epochs` epochs, i.e. decay 1 - 1/steps, where
steps is that many epochs' optimiser steps (BBC News: 47 steps an epoch, decay 0.979). A fixed
0.98 would leave a 10-step run on its first weights.

The average is updated every `every_n_steps` optimiser steps with the decay raised to that
power, so its memory in steps stays the same. `auto` updates about 12 times per memory, at
most every 4 steps (BBC News: every 3 steps). Each update is a pass over every weight (2.3M
for the BBC model, most of them the embedding's); averaging a third of the iterates of a
47-step memory changes the average little and saves two of those passes in three.

One fix on top: Lightning's callback also reloads `current_model_state` when the same trainer
later *tests* the best checkpoint, so `trainer.test(ckpt_path=best)` would score the live
weights of that epoch instead of the averaged ones that were validated. Outside fitting we
keep the checkpoint's `state_dict` (the average).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import WeightAveraging
from lightning.pytorch.trainer.states import TrainerFn

from lstmkit.errors import ConfigError

log = logging.getLogger(__name__)
FALLBACK_DECAY = 0.99  # an epoch of unknown length (an iterable loader)
UPDATES_PER_MEMORY = 12  # every_n_steps=auto: at least this many updates per memory...
MAX_EVERY = 4  # ...and at most this many steps apart


def auto_every(step_decay: float) -> int:
    """Steps between updates for an EMA of per-step `step_decay` (its memory: 1/(1-decay))."""
    memory = round(1.0 / (1.0 - step_decay), 6)  # 1 - 1/48 gives back 47.99999...
    return int(min(MAX_EVERY, max(1, memory // UPDATES_PER_MEMORY)))


class WeightEMA(WeightAveraging):
    """EMA of every parameter and buffer, updated every `every_n_steps` optimiser steps."""

    def __init__(
        self,
        memory_epochs: float = 1.0,
        decay: float | None = None,
        every_n_steps: int | str = "auto",
    ) -> None:
        if decay is not None and not 0.0 < decay < 1.0:
            raise ConfigError(
                f"callbacks.weight_averaging.decay must be in (0, 1) or null, got {decay}; "
                "null sets it from memory_epochs."
            )
        if not memory_epochs > 0:
            raise ConfigError(
                f"callbacks.weight_averaging.memory_epochs must be > 0, got {memory_epochs}."
            )
        if every_n_steps != "auto" and not (
            isinstance(every_n_steps, int)
            and not isinstance(every_n_steps, bool)
            and every_n_steps >= 1
        ):
            raise ConfigError(
                "callbacks.weight_averaging.every_n_steps must be 'auto' or an integer >= 1, "
                f"got {every_n_steps!r}."
            )
        # one foreach lerp over all tensors: a per-tensor avg_fn costs four passes (sub, mul,
        # add, copy) over the embedding each step, 7% of a BBC step at 1 thread
        super().__init__(multi_avg_fn=self._average)
        self.memory_epochs, self.fixed, self.every_setting = memory_epochs, decay, every_n_steps
        self.decay: float | None = decay  # per update: raised to `every` when training starts
        self.every = 1  # optimiser steps between updates; set when training starts
        # (averaged, live) tensors, gathered once the first update has copied the weights
        self._pairs: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None

    def _average(
        self,
        averaged: list[torch.Tensor],
        current: list[torch.Tensor],
        num_averaged: torch.Tensor,
    ) -> None:
        """averaged <- averaged + (current - averaged) * (1 - decay), in place (one update)."""
        assert self.decay is not None, "the decay is set when training starts"
        torch._foreach_lerp_(averaged, current, 1.0 - self.decay)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        """After the first optimiser step and every `every` steps from there; never per epoch."""
        return step_idx is not None and step_idx % self.every == 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self._pairs = None  # a new averaged model for each fit

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Lightning's update, without its walk over the model at every step.

        `AveragedModel.update_parameters` gathers, detaches and moves every tensor of both
        models each step (about as long as the lerp itself on the BBC model). Both tensor lists
        are the same objects all run long (the swaps for validation copy values in place), so
        after the first update, which copies the weights, they are kept and only lerped.
        """
        average = self._average_model
        if average is None or trainer.global_step <= self._latest_update_step:
            return
        if not self.should_update(step_idx=trainer.global_step - 1):
            return
        if self._pairs is None:
            average.update_parameters(pl_module)
            self._pairs = self._same_device_pairs(average.module, pl_module)
        else:
            assert self.decay is not None, "the decay is set when training starts"
            with torch.no_grad():
                torch._foreach_lerp_(self._pairs[0], self._pairs[1], 1.0 - self.decay)
            average.n_averaged += 1
        self._latest_update_step = trainer.global_step

    def _same_device_pairs(
        self, averaged: torch.nn.Module, live: torch.nn.Module
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]] | None:
        """Both models' parameters and buffers in order, or None where the devices differ."""
        pairs = []
        for model in (averaged, live):
            tensors: list[torch.Tensor] = [*model.parameters()]
            if self._use_buffers:
                tensors += [*model.buffers()]
            pairs.append([t.detach() for t in tensors])
        same = all(a.device == b.device for a, b in zip(*pairs, strict=True))
        return (pairs[0], pairs[1]) if same else None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.fixed is not None:
            step_decay, why = self.fixed, "callbacks.weight_averaging.decay"
        else:
            batches = float(trainer.num_training_batches)
            steps = batches / max(1, trainer.accumulate_grad_batches) * self.memory_epochs
            known = math.isfinite(steps)
            step_decay = 1.0 - 1.0 / max(steps, 1.0) if known else FALLBACK_DECAY
            why = f"a memory of {self.memory_epochs:g} epoch(s), {steps:.0f} optimiser steps"
        if self.every_setting == "auto":
            self.every = auto_every(step_decay)
            how = f"auto: {UPDATES_PER_MEMORY}+ updates a memory, at most {MAX_EVERY} apart"
        else:
            self.every, how = int(self.every_setting), "callbacks.weight_averaging.every_n_steps"
        self.decay = step_decay**self.every
        log.info(
            "weight EMA: decay %.4g (%s), updated every %d step(s) (%s)",
            step_decay,
            why,
            self.every,
            how,
        )

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self._pairs = None
        if trainer.state.fn == TrainerFn.FITTING:  # resume: live weights and the average
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
