"""Exponential smoothing (statsmodels Holt-Winters) as a backtest baseline.

For each forecast origin the model is fitted on the series' own history before that origin
(nothing after it), with an additive damped trend and an additive or, for positive data, a
multiplicative season; the candidate with the lower AICc on that history is kept. This is
the statistical baseline a user would otherwise run by hand, scored on the same windows.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

log = logging.getLogger(__name__)


def _fit_forecast(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal_ok = season > 1 and len(history) >= 2 * season + 2
    kinds: list[str | None] = [None]
    if seasonal_ok:
        kinds = ["add", "mul"] if (history > 0).all() else ["add"]
    best, best_aicc = None, np.inf
    for seasonal in kinds:
        model = ExponentialSmoothing(
            history,
            trend="add",
            damped_trend=True,
            seasonal=seasonal,
            seasonal_periods=season if seasonal else None,
            initialization_method="estimated",
        )
        fit = model.fit()
        aicc = fit.aicc if np.isfinite(fit.aicc) else fit.aic
        if best is None or aicc < best_aicc:
            best, best_aicc = fit, aicc
    assert best is not None  # kinds is never empty
    forecast = np.asarray(best.forecast(horizon), dtype=np.float64)
    if not np.isfinite(forecast).all():
        raise ValueError("non-finite ETS forecast")
    return forecast


def ets_forecasts(
    raw: np.ndarray, starts: np.ndarray, origins: np.ndarray, horizon: int, season: int
) -> np.ndarray:
    """[W, H, C]: one ETS forecast per window, fitted on rows [start, origin) of its series.

    A fit that fails (too short, numerically degenerate) falls back to the seasonal-naive
    forecast of that window, and the count is logged.
    """
    import statsmodels.tsa.holtwinters  # noqa: F401 - imported first: its import sets warning filters

    out = np.empty((len(origins), horizon, raw.shape[1]), dtype=np.float32)
    failed = 0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for w, (start, origin) in enumerate(zip(starts, origins, strict=True)):
            for c in range(raw.shape[1]):
                history = raw[start:origin, c].astype(np.float64)
                try:
                    out[w, :, c] = _fit_forecast(history, horizon, season)
                except Exception:  # noqa: BLE001 - any statsmodels failure: use the fallback
                    failed += 1
                    h = np.arange(horizon)
                    back = origin + h - season * (h // season + 1)
                    out[w, :, c] = raw[np.maximum(back, start), c]
    if failed:
        log.warning(
            "ETS failed on %d of %d fits; seasonal naive used there", failed, out.size // horizon
        )
    return out
