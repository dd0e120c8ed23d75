"""The training budget: enough optimiser steps on 40 sequences, no waste on 100k rows.

`trainer.max_epochs` over a handful of batches is a few dozen optimiser steps, which underfits
small data; a user cannot know to repeat the data. So a run takes at least `budget.min_steps`
steps: when the epochs give less than half of that, each epoch runs the training data several
times (or, for a kind that cannot repeat, more epochs are allowed). Early stopping on
validation still ends a run that stops improving, and `budget.max_time` caps the wall time of
a large one. A repeat count set by hand (`data.epoch_repeats`, `data.windows_per_epoch`) is
left alone.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from omegaconf import DictConfig, open_dict

from lstmkit.data.base import CsvDataModule

log = logging.getLogger(__name__)

BY_HAND = ("epoch_repeats", "windows_per_epoch")  # data keys that fix the epoch length


def repeat_to(
    datamodule: CsvDataModule, steps: int, max_epochs: int, min_steps: int
) -> tuple[int, int] | None:
    """Repeat the training data until the epochs reach `min_steps`: (repeats, steps per epoch),
    or None where the kind cannot repeat. A small set fills a part of one batch, so repeating
    it `k` times adds fewer than `k` times the steps; the loader's length is measured again."""
    times = 1
    while steps * max_epochs < min_steps:
        times = max(times + 1, math.ceil(times * min_steps / (max(steps, 1) * max_epochs)))
        if not datamodule.repeat_train(times):
            return None
        steps = len(datamodule.train_dataloader())
    return times, steps


def apply_budget(cfg: DictConfig, datamodule: CsvDataModule) -> dict[str, Any]:
    """Size the epochs (and the epoch cap) to the data after setup; log and return why."""
    budget: Any = cfg.get("budget") or {}  # a DictConfig, or {} without one
    min_steps = int(budget.get("min_steps") or 0)
    max_epochs = cfg.trainer.get("max_epochs")
    steps = len(datamodule.train_dataloader())
    record: dict[str, Any] = {"steps_per_epoch": steps, "repeats": 1, "min_steps": min_steps}
    hand = [f"data.{k}={cfg.data[k]}" for k in BY_HAND if cfg.data.get(k) is not None]
    if cfg.trainer.get("max_time") is None and budget.get("max_time"):
        with open_dict(cfg):
            cfg.trainer.max_time = budget.max_time
    record["max_time"] = cfg.trainer.get("max_time")
    if not max_epochs or max_epochs < 0:
        why = "trainer.max_epochs is unbounded; trainer.max_steps / max_time end the run"
    elif hand:
        why = f"{', '.join(hand)} set by hand"
    elif 2 * steps * max_epochs > min_steps:  # whole repeats would double a near-enough run
        why = f"{steps} steps x {max_epochs} epochs reach half of budget.min_steps={min_steps}"
    elif repeated := repeat_to(datamodule, steps, max_epochs, min_steps):
        times, record["steps_per_epoch"] = repeated
        record["repeats"] = times
        why = (
            f"{steps} steps x {max_epochs} epochs < budget.min_steps={min_steps}: each "
            f"epoch runs the training data {times} times ({record['steps_per_epoch']} steps)"
        )
    else:
        epochs = math.ceil(min_steps / max(steps, 1))
        with open_dict(cfg):
            cfg.trainer.max_epochs = epochs
        why = (
            f"{steps} steps x {max_epochs} epochs < budget.min_steps={min_steps}: "
            f"up to {epochs} epochs"
        )
    record["max_epochs"] = cfg.trainer.get("max_epochs")
    record["reason"] = why
    log.info(
        "training budget: %s; early stopping on %s, wall-time cap %s",
        why,
        cfg.task.monitor,
        record["max_time"] or "none",
    )
    return record
