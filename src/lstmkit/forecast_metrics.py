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


def forecast_metrics(
    actual: torch.Tensor, forecast: torch.Tensor, scale: torch.Tensor
) -> dict[str, torch.Tensor]:
    """MAE, RMSE, MAPE (%), sMAPE (%), MASE; `scale` [W, C] is each window's MASE scale."""
    error = forecast - actual
    absolute = error.abs()
    nonzero = actual != 0  # MAPE is undefined at zero actuals: those steps are left out
    mape = (absolute[nonzero] / actual.abs()[nonzero]).mean() * 100
    denominator = actual.abs() + forecast.abs()
    smape_terms = torch.where(
        denominator > 0, 2 * absolute / denominator.clamp(min=1e-12), torch.zeros_like(absolute)
    )
    return {
        "mae": absolute.mean(),
        "rmse": error.pow(2).mean().sqrt(),
        "mape": mape,
        "smape": smape_terms.mean() * 100,
        "mase": (absolute / scale[:, None, :]).mean(),
    }
