"""The number a sweep optimises: the best value of one logged metric over validation epochs."""

from __future__ import annotations

import math
from typing import Any

import lightning as L

from lstmkit.errors import ConfigError

MODES = ("min", "max")


def is_better(value: float, best: float | None, mode: str) -> bool:
    """True when `value` improves on `best` in direction `mode` (NaN never does)."""
    if math.isnan(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


def check_not_test(metric: str, key: str) -> None:
    """Nothing is chosen on test: the test split is scored once, after every choice is made."""
    if str(metric).startswith("test/"):
        raise ConfigError(
            f"{key}={metric} chooses on the test split, so the test score it reports is "
            f"optimistic. Use the validation metric instead ({key}=val/"
            f"{str(metric).split('/', 1)[1]}); the test split is scored once, at the end."
        )


class BestMetric(L.Callback):
    """Track the best `metric` across epochs, so any logged val metric can be the objective.

    The checkpoint monitor gives this for free only when objective and monitor coincide;
    forecasting sweeps, for example, optimise val/mape while checkpointing on val/loss.
    A `test/...` metric is refused: a sweep that picks on test reports an optimistic number.
    """

    def __init__(self, metric: str, mode: str = "max") -> None:
        if mode not in MODES:
            raise ConfigError(f"objective.mode must be 'min' or 'max', got {mode!r}.")
        check_not_test(metric, "objective.metric")
        self.metric, self.mode = metric, mode
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.at_best: dict[str, float] = {}  # every val metric of the best epoch

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        logged = trainer.callback_metrics
        if self.metric not in logged:
            known = ", ".join(sorted(k for k in logged if k.startswith("val/")))
            raise ConfigError(
                f"objective.metric {self.metric!r} is not logged by this task "
                f"(validation logs: {known}). Set objective.metric to one of them."
            )
        value = float(logged[self.metric])
        if is_better(value, self.best, self.mode):
            self.best, self.best_epoch = value, trainer.current_epoch
            self.at_best = {k: float(v) for k, v in logged.items() if k.startswith("val/")}

    def report(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """The objective entry of metrics.json: metric, mode, value (NaN if never measured)."""
        value, epoch = (math.nan if self.best is None else self.best), self.best_epoch
        return {"metric": self.metric, "mode": self.mode, "value": float(value), "epoch": epoch}
