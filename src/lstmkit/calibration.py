"""Conformal widening of quantile intervals on the validation origins (split conformal, CQR).

A quantile head trained on a few dozen windows learns intervals that are too narrow: its
training windows are fitted closely, so the spread it learns is the in-sample spread. CQR
(Romano, Patterson & Candes, 2019) fixes the coverage on held-out data: for each central
interval [lo, hi] of nominal level p, the score of a validation point is
max(lo - y, y - hi), and the interval is widened on both sides by the ceil((n + 1) p) / n
empirical quantile of the n scores. Validation lies before the test span, so nothing is
chosen on test. Only widening is applied (the offset never goes below zero), so the levels
still cannot cross.
"""

from __future__ import annotations

import math

import torch

from lstmkit.forecast_metrics import intervals


def conformal_widen(
    forecast: torch.Tensor, targets: torch.Tensor, levels: list[float], current: torch.Tensor
) -> torch.Tensor:
    """New per-level offsets [Q] (negative below the median, positive above).

    `forecast` [W, H, C, Q] are scaled forecasts already shifted by `current`; `targets`
    [W, H, C] scaled actuals. Scores of shifted intervals are the unshifted scores minus the
    current offset, so adding it back makes the update exact whatever the previous offset.
    """
    widen = current.clone()
    for lo, hi, nominal in intervals(levels):
        scores = torch.maximum(forecast[..., lo] - targets, targets - forecast[..., hi]).flatten()
        scores = scores[torch.isfinite(scores)]
        if scores.numel() == 0:
            continue
        n = scores.numel()
        rank = min(1.0, math.ceil((n + 1) * nominal / 100) / n)
        kth = torch.quantile(scores.double(), rank, interpolation="higher")  # an order statistic
        extra = float(current[hi]) + float(kth)
        widen[lo], widen[hi] = -max(0.0, extra), max(0.0, extra)
    return widen
