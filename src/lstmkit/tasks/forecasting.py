"""LightningModule for forecasting: loss on scaled values, metrics in original units.

Val and test forecasts are turned back into original units with the fitted scaler and scored
as MAE, RMSE, MAPE, sMAPE and MASE; the naive and seasonal-naive forecasts of the very same
windows are scored beside them (test), so every number has its yardstick next to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from lstmkit.data.scalers import Scaler
from lstmkit.forecast_metrics import forecast_metrics
from lstmkit.tasks.optim import configure

log = logging.getLogger(__name__)
LOSSES = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}
BASELINES = ("naive", "snaive")


class ForecastingTask(L.LightningModule):
    """MSE / MAE / Huber on scaled targets; teacher forcing decays each epoch."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        horizon: int,
        scaler: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
        target_names: list[str] | None = None,
        loss: str = "mse",
        teacher_forcing: float = 0.5,
        teacher_forcing_decay: float = 0.9,
        figures: int = 4,
        monitor: str = "val/loss",
        monitor_mode: str = "min",
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"task.loss must be one of {sorted(LOSSES)}, got {loss!r}")
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net, self.optimizer_fn, self.scheduler_cfg = net, optimizer, scheduler
        self.loss_fn, self.monitor, self.figures = LOSSES[loss], monitor, figures
        self.scaler = Scaler.from_dict(scaler)
        self.target_names = target_names or ["value"]
        self._outputs: dict[str, list[dict[str, torch.Tensor]]] = {"val": [], "test": []}

    @property
    def teacher_forcing(self) -> float:
        """Ratio for this epoch: starts at `teacher_forcing`, multiplied by the decay each epoch."""
        tf = self.hparams.teacher_forcing * self.hparams.teacher_forcing_decay**self.current_epoch
        return float(tf)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.net(inputs, lengths)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        ratio = self.teacher_forcing
        kwargs = {"targets": batch["targets"], "teacher_forcing": ratio} if ratio > 0 else {}
        forecast = self.net(batch["inputs"], batch["lengths"], **kwargs)
        loss = self.loss_fn(forecast, batch["targets"])
        size = batch["inputs"].size(0)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=size)
        self.log("train/teacher_forcing", ratio, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def _eval_step(self, batch: dict[str, torch.Tensor], stage: str) -> None:
        forecast = self(batch["inputs"], batch["lengths"])  # free running: targets never read
        loss = self.loss_fn(forecast, batch["targets"])
        self.log(
            f"{stage}/loss", loss, on_epoch=True, prog_bar=True, batch_size=batch["inputs"].size(0)
        )
        kept = {k: batch[k] for k in ("actual", "naive", "snaive", "mase_scale", "history")}
        kept["forecast"] = self.scaler.inverse(forecast.detach(), batch["series"])
        self._outputs[stage].append(kept)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _epoch_end(self, stage: str) -> dict[str, torch.Tensor]:
        outputs = self._outputs[stage]
        self._outputs[stage] = []
        if not outputs:
            return {}
        seen = {k: torch.cat([o[k] for o in outputs]) for k in outputs[0]}
        names = ("forecast",) + (BASELINES if stage == "test" else ())
        results = {}
        for name in names:
            scores = forecast_metrics(seen["actual"], seen[name], seen["mase_scale"])
            prefix = f"{stage}/" if name == "forecast" else f"{stage}/{name}_"
            results |= {f"{prefix}{k}": v for k, v in scores.items()}
        self.log_dict(results, prog_bar=False)
        if stage == "test":
            self._report(results)
            self._figure(seen)
        return results

    def on_validation_epoch_end(self) -> None:
        self._epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._epoch_end("test")

    def _report(self, results: dict[str, torch.Tensor]) -> None:
        names = ("mae", "rmse", "mape", "smape", "mase")
        header = ("mae", "rmse", "mape%", "smape%", "mase")
        lines = [f"{'test (original units)':<22}" + "".join(f"{m:>10}" for m in header)]
        for label, prefix in (
            ("model", "test/"),
            ("naive", "test/naive_"),
            ("seasonal naive", "test/snaive_"),
        ):
            values = [float(results[f"{prefix}{m}"]) for m in names]
            lines.append(f"{label:<22}" + "".join(f"{v:>10.4g}" for v in values))
        log.info("forecast vs baselines on the same test windows\n%s", "\n".join(lines))

    def _figure(self, seen: dict[str, torch.Tensor]) -> None:
        """Forecast against actual for a few test windows, as a TensorBoard figure."""
        experiment = getattr(self.logger, "experiment", None)
        if self.figures <= 0 or not hasattr(experiment, "add_figure"):
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        count = min(self.figures, len(seen["actual"]))
        picks = torch.linspace(0, len(seen["actual"]) - 1, count).round().long().tolist()
        fig, axes = plt.subplots(count, 1, figsize=(8, 2.5 * count), squeeze=False)
        for ax, i in zip(axes[:, 0], picks, strict=True):
            past, future = seen["history"][i, :, 0], seen["actual"][i, :, 0]
            x_past = range(-len(past), 0)
            x_future = range(len(future))
            ax.plot(x_past, past.cpu(), color="grey", label="input")
            ax.plot(x_future, future.cpu(), color="black", marker=".", label="actual")
            ax.plot(
                x_future,
                seen["forecast"][i, :, 0].cpu(),
                color="tab:blue",
                marker=".",
                label="forecast",
            )
            ax.plot(
                x_future,
                seen["snaive"][i, :, 0].cpu(),
                color="tab:orange",
                linestyle=":",
                label="seasonal naive",
            )
            ax.set_title(f"test window {i} ({self.target_names[0]})", fontsize=9)
        axes[0, 0].legend(fontsize=8)
        fig.tight_layout()
        experiment.add_figure("test/forecast_vs_actual", fig, global_step=self.global_step)
        plt.close(fig)

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.scaler.inverse(self(batch["inputs"], batch["lengths"]), batch["series"])

    def configure_optimizers(self) -> dict[str, Any]:
        return configure(self, self.optimizer_fn, self.scheduler_cfg, self.monitor)
