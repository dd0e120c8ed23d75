"""Forecast accuracy in original units, and the naive baselines a model has to beat.

All functions take `actual` and `forecast` of the same shape [W, H, C] (windows, horizon,
target columns). MAPE and sMAPE are in percent. MASE divides by the in-sample mean absolute
seasonal difference of each series' training span (Hyndman & Koehler, 2006).
"""

from __future__ import annotations

import numpy as np
import torch


def naive_forecast(history_last: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last observed value: [W, C] -> [W, H, C]."""
    return np.repeat(history_last[:, None, :], horizon, axis=1)


def seasonal_naive_index(origin: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Row index of the value a seasonal-naive forecast copies for each window and step.

    Step h (0-based) of a window whose first target row is `origin` copies the row one (or
    more, for h >= season) whole seasons back, always from before `origin`.
    """
    h = np.arange(horizon)
    return origin[:, None] + h[None, :] - season * (h // season + 1)[None, :]


def mase_scale(values: np.ndarray, season: int) -> np.ndarray:
    """Mean absolute seasonal difference of one series' training values [N, C] -> [C]."""
    if len(values) <= season:
        return np.full(values.shape[1], np.nan)
    return np.abs(values[season:] - values[:-season]).mean(axis=0)


SUMS = ("abs", "square", "ape", "ape_count", "smape", "scaled", "count")


def metric_sums(actual: torch.Tensor, forecast: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The sums every point metric is a ratio of, [len(SUMS)]: added across origins or ranks
    (DDP) before dividing, so a metric over shards equals the metric over the whole."""
    error = forecast - actual
    absolute = error.abs()
    nonzero = actual != 0  # MAPE is undefined at zero actuals: those steps are left out
    denominator = actual.abs() + forecast.abs()
    smape_terms = torch.where(
        denominator > 0, 2 * absolute / denominator.clamp(min=1e-12), torch.zeros_like(absolute)
    )
    return torch.stack(
        [
            absolute.sum(),
            error.pow(2).sum(),
            (absolute[nonzero] / actual.abs()[nonzero]).sum(),
            nonzero.sum().to(absolute.dtype),
            smape_terms.sum(),
            (absolute / scale[:, None, :]).sum(),
            torch.tensor(float(absolute.numel()), dtype=absolute.dtype, device=absolute.device),
        ]
    )


def metrics_from_sums(sums: torch.Tensor) -> dict[str, torch.Tensor]:
    """MAE, RMSE, MAPE (%), sMAPE (%), MASE from `metric_sums` (possibly added up)."""
    total = dict(zip(SUMS, sums, strict=True))
    n = total["count"]
    return {
        "mae": total["abs"] / n,
        "rmse": (total["square"] / n).sqrt(),
        "mape": total["ape"] / total["ape_count"] * 100,
        "smape": total["smape"] / n * 100,
        "mase": total["scaled"] / n,
    }


def forecast_metrics(
    actual: torch.Tensor, forecast: torch.Tensor, scale: torch.Tensor
) -> dict[str, torch.Tensor]:
    """MAE, RMSE, MAPE (%), sMAPE (%), MASE; `scale` [W, C] is each window's MASE scale."""
    return metrics_from_sums(metric_sums(actual, forecast, scale))


def pinball(actual: torch.Tensor, forecast: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Elementwise pinball (quantile) loss: `forecast` [..., Q] of `actual` [...]."""
    error = actual[..., None] - forecast
    return torch.maximum(levels * error, (levels - 1) * error)


def intervals(levels: list[float]) -> list[tuple[int, int, int]]:
    """(lower index, upper index, nominal %) of each central interval the levels hold:
    0.1 and 0.9 make the 80% interval."""
    pairs = []
    for i, q in enumerate(levels):
        for j in range(len(levels) - 1, i, -1):
            if abs(levels[j] - (1 - q)) < 1e-9:
                pairs.append((i, j, round(100 * (levels[j] - q))))
    return pairs


def quantile_sums(
    actual: torch.Tensor, forecast: torch.Tensor, levels: list[float]
) -> torch.Tensor:
    """[1 + 2 * intervals]: summed mean-over-levels pinball loss, then for each central
    interval the count of actuals inside it and its summed width (count: `metric_sums`)."""
    q = torch.tensor(levels, dtype=forecast.dtype, device=forecast.device)
    parts = [pinball(actual, forecast, q).mean(-1).sum()]
    for lo, hi, _ in intervals(levels):
        lower, upper = forecast[..., lo], forecast[..., hi]
        parts.append(((actual >= lower) & (actual <= upper)).sum().to(forecast.dtype))
        parts.append((upper - lower).sum())
    return torch.stack(parts)


def quantile_metrics(sums: torch.Tensor, count: torch.Tensor, levels: list[float]) -> dict:
    """pinball (mean over levels), CRPS ~ 2 x pinball, coverage_<p> and width_<p>."""
    out = {"pinball": sums[0] / count, "crps": 2 * sums[0] / count}
    for k, (_, _, nominal) in enumerate(intervals(levels)):
        out[f"coverage_{nominal}"] = sums[1 + 2 * k] / count
        out[f"width_{nominal}"] = sums[2 + 2 * k] / count
    return out
