"""LightningModule for forecasting: loss on scaled values, metrics in original units.

Val and test forecasts are turned back into original units with the fitted scaler and scored
as MAE, RMSE, MAPE, sMAPE and MASE; the naive and seasonal-naive forecasts of the very same
windows are scored beside them (val and test), so every number has its yardstick next to it; with
`data.backtest.ets` an exponential-smoothing forecast of each test window as well.

Backtests: each window carries the rank of its forecast origin (0 = the latest). A metric is
computed per origin and the reported value is the mean over origins; the per-origin values
are logged as `test/backtest/origin_<k>/<metric>` (k = 1 the oldest). Each rank of a DDP run
scores its own share of the windows and the sums behind every metric are added across ranks
before dividing, so the numbers equal a single process's.

With quantiles the loss is the pinball loss, point metrics score the median, and coverage,
interval width, pinball loss and a CRPS approximation score the quantiles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from lstmkit.calibration import conformal_widen
from lstmkit.data.scalers import Scaler
from lstmkit.forecast_metrics import (
    SUMS,
    intervals,
    metric_sums,
    metrics_from_sums,
    pinball,
    quantile_metrics,
    quantile_sums,
)
from lstmkit.tasks.optim import ClipWhenOver, configure
from lstmkit.tasks.train_log import TrainLossLog

log = logging.getLogger(__name__)
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": F.huber_loss,
}
BASELINES = ("naive", "snaive", "ets")
VAL_BASELINES = ("naive", "snaive")
KEPT = ("actual", "naive", "snaive", "ets", "mase_scale", "history", "origin")


class ForecastingTask(ClipWhenOver, TrainLossLog):
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
        origins: dict[str, int] | None = None,
        ets: bool = False,
        calibrate: bool = True,
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
        self.origins = origins or {"val": 1, "test": 1}
        self.baselines = tuple(b for b in BASELINES if ets or b != "ets")
        self.levels: list[float] = list(getattr(net, "quantiles", []) or [])
        self.median = getattr(net, "median", 0)
        # an ensemble averages trained members: no anchor of its own to fall back on
        self.anchored = bool(getattr(net, "relative", False)) and hasattr(net, "untrained")

    def _loss(self, forecast: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The configured loss, or the pinball loss averaged over levels with quantiles."""
        if not self.levels:
            return self.loss_fn(forecast, targets)
        levels = torch.tensor(self.levels, dtype=forecast.dtype, device=forecast.device)
        return pinball(targets, forecast, levels).mean()

    def _median(self, original: torch.Tensor) -> torch.Tensor:
        """The point forecast: the median of a quantile forecast."""
        return original[..., self.median] if self.levels else original

    def _original(self, forecast: torch.Tensor, series: torch.Tensor) -> torch.Tensor:
        """Scaled forecasts (any quantile axis last) back in original units."""
        if not self.levels:
            return self.scaler.inverse(forecast, series)
        moved = self.scaler.inverse(forecast.movedim(-1, -2), series)  # [B, H, Q, C]
        return moved.movedim(-2, -1)

    @property
    def teacher_forcing(self) -> float:
        """Ratio for this epoch: starts at `teacher_forcing`, multiplied by the decay each epoch."""
        hp = self.hparams
        tf = hp["teacher_forcing"] * hp["teacher_forcing_decay"] ** self.current_epoch
        return float(tf)

    def forward(self, batch: dict[str, torch.Tensor], **kwargs: Any) -> torch.Tensor:
        """The network on a batch: its window, plus known-future inputs and series ids."""
        return self.net(
            batch["inputs"], batch["lengths"], batch.get("future"), batch["series"], **kwargs
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        ratio = self.teacher_forcing
        kwargs = {"targets": batch["targets"], "teacher_forcing": ratio} if ratio > 0 else {}
        forecast = self(batch, **kwargs)
        loss = self._loss(forecast, batch["targets"])
        size = batch["inputs"].size(0)
        self.log_train_loss(loss, size)
        if self.epoch_ends_here():  # one value per epoch: no self.log call at every step
            self.log("train/teacher_forcing", ratio, on_step=False, on_epoch=True, batch_size=1)
        return loss

    def _eval_step(self, batch: dict[str, torch.Tensor], stage: str) -> None:
        forecast = self(batch)  # free running: targets never read
        loss = self._loss(forecast, batch["targets"])
        size = batch["inputs"].size(0)
        # each DDP rank sees its own windows: the logged loss is the mean over ranks
        self.log(
            f"{stage}/loss", loss, on_epoch=True, prog_bar=True, batch_size=size, sync_dist=True
        )
        kept = {k: batch[k] for k in KEPT if k in batch}
        if stage == "val" and self.anchored:  # the untrained network: the run's fallback
            net: Any = self.net  # a Seq2SeqForecaster (self.anchored checked it)
            anchor = net.untrained(batch["inputs"], batch["lengths"])
            anchor_loss = self._loss(anchor, batch["targets"])
            self.log("val/anchor_loss", anchor_loss, batch_size=size, sync_dist=True)
            kept["anchor"] = self._median(self._original(anchor, batch["series"]))
        original = self._original(forecast.detach(), batch["series"])
        kept["forecast"] = self._median(original)
        if self.levels:
            kept["quantiles"] = original
            kept["scaled"], kept["targets"] = forecast.detach(), batch["targets"]
        self._outputs[stage].append(kept)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _sums(self, seen: dict[str, torch.Tensor], stage: str) -> dict[str, torch.Tensor]:
        """Per origin, the sums behind each metric: name -> [origins, len(SUMS)] (quantiles:
        [origins, ...] of `quantile_sums`), added across DDP ranks."""
        count = self.origins.get(stage, 1)
        # naive and seasonal naive on validation too: the yardstick a default is chosen by
        baselines = self.baselines if stage == "test" else (*VAL_BASELINES, "anchor")
        names = ("forecast",) + tuple(b for b in baselines if b in seen)
        ref = seen["actual"]
        width = 1 + 2 * len(intervals(self.levels))
        out = {n: ref.new_zeros(count, len(SUMS)) for n in names}
        if self.levels:
            out["quantiles"] = ref.new_zeros(count, width)
        for k in range(count):
            rows = seen["origin"] == count - 1 - k  # k = 0 the oldest origin
            if not rows.any():
                continue
            for name in names:
                out[name][k] = metric_sums(
                    ref[rows], seen[name][rows].to(ref.dtype), seen["mase_scale"][rows]
                )
            if self.levels:
                sums = quantile_sums(ref[rows], seen["quantiles"][rows], self.levels)
                out["quantiles"][k, : len(sums)] = sums
        if self.trainer.world_size > 1:
            out = {n: self.trainer.strategy.reduce(t, reduce_op="sum") for n, t in out.items()}
        return out

    def _epoch_end(self, stage: str) -> dict[str, torch.Tensor]:
        outputs = self._outputs[stage]
        self._outputs[stage] = []
        if not outputs and self.trainer.world_size == 1:
            return {}
        seen = {k: torch.cat([o[k] for o in outputs]) for k in outputs[0]} if outputs else {}
        if not seen:  # a rank with no windows still joins the sum
            seen = {"actual": torch.zeros(0, 1, 1), "origin": torch.zeros(0, dtype=torch.long)}
        sums = self._sums(seen, stage)
        results: dict[str, torch.Tensor] = {}
        counts = sums["forecast"][:, SUMS.index("count")]
        keep = [k for k in range(len(counts)) if counts[k] > 0]  # origins some series reach
        for name, table in sums.items():
            if name == "quantiles":
                levels = self.levels
                per = [quantile_metrics(r, n, levels) for r, n in zip(table, counts, strict=True)]
                prefix = f"{stage}/"
            else:
                per = [metrics_from_sums(row) for row in table]
                prefix = f"{stage}/" if name == "forecast" else f"{stage}/{name}_"
            for metric in per[0]:
                values = torch.stack([per[k][metric] for k in keep])
                results[f"{prefix}{metric}"] = values.mean()  # mean over origins
                if stage == "test" and len(per) > 1:
                    for k in keep:
                        short = prefix.removeprefix(f"{stage}/")
                        results[f"test/backtest/origin_{k + 1}/{short}{metric}"] = per[k][metric]
        self.log_dict(results, prog_bar=False)
        if stage == "test" and self.trainer.is_global_zero:
            self._report(results)
            if outputs:
                self._figure(seen)
        return results

    def on_validation_epoch_end(self) -> None:
        outputs = self._outputs["val"]
        # an ensemble has no offsets of its own: its members were each widened on validation
        widen = hasattr(self.net, "widen") and self.hparams["calibrate"]
        if self.levels and widen and not self.trainer.sanity_checking:
            self._calibrate(outputs)
        self._epoch_end("val")

    def _calibrate(self, outputs: list[dict[str, torch.Tensor]]) -> None:
        """Widen the intervals so they cover their level on the validation origins (CQR); the
        offsets live in the network, so the checkpoint, predict and ONNX carry them."""
        widen = cast(torch.Tensor, self.net.widen)  # a buffer of the network
        forecast = torch.cat([o["scaled"] for o in outputs]) if outputs else None
        targets = torch.cat([o["targets"] for o in outputs]) if outputs else None
        if self.trainer.world_size > 1:  # every rank widens by the same, all-window amount
            forecast, targets = self._gather(forecast, targets, widen)
        if forecast is not None and targets is not None and len(forecast):
            widen.copy_(conformal_widen(forecast, targets, self.levels, widen))

    def _gather(
        self, forecast: torch.Tensor | None, targets: torch.Tensor | None, widen: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All ranks' validation windows, padded with NaN to one length for all_gather."""
        # Trainer.datamodule is set at fit time, not declared in Lightning's class
        datamodule = self.trainer.datamodule  # type: ignore[attr-defined]
        shape = (datamodule.splits["val"].horizon, len(self.target_names))
        size = torch.tensor([0 if forecast is None else len(forecast)], device=widen.device)
        most = int(cast(torch.Tensor, self.all_gather(size)).max())
        pad_f = widen.new_full((most, *shape, len(self.levels)), float("nan"))
        pad_t = widen.new_full((most, *shape), float("nan"))
        if forecast is not None and targets is not None:
            pad_f[: len(forecast)], pad_t[: len(targets)] = forecast, targets
        gathered = (
            cast(torch.Tensor, self.all_gather(pad_f)),
            cast(torch.Tensor, self.all_gather(pad_t)),
        )
        return gathered[0].flatten(0, 1), gathered[1].flatten(0, 1)

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
            ("ETS", "test/ets_"),
        ):
            if f"{prefix}mae" not in results:
                continue
            values = [float(results[f"{prefix}{m}"]) for m in names]
            lines.append(f"{label:<22}" + "".join(f"{v:>10.4g}" for v in values))
        for key in sorted(k for k in results if k.startswith(("test/coverage", "test/crps"))):
            lines.append(f"{key}: {float(results[key]):.4g}")
        log.info(
            "forecast vs baselines on the same test windows (mean over %d origins)\n%s",
            self.origins.get("test", 1),
            "\n".join(lines),
        )

    def _figure(self, seen: dict[str, torch.Tensor]) -> None:
        """Forecast against actual for a few test windows, as a TensorBoard figure."""
        experiment: Any = getattr(self.logger, "experiment", None)
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
            if "quantiles" in seen:
                band = seen["quantiles"][i, :, 0].cpu()
                ax.fill_between(
                    x_future,
                    band[:, 0],
                    band[:, -1],
                    color="tab:blue",
                    alpha=0.2,
                    label=f"{self.levels[0]:g}-{self.levels[-1]:g} quantiles",
                )
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
        return self._original(self(batch), batch["series"])

    # a plain dict: Lightning's return type is a union of TypedDicts it does not match
    def configure_optimizers(self) -> dict[str, Any]:  # type: ignore[override]
        return configure(self, self.optimizer_fn, self.scheduler_cfg, self.monitor)
