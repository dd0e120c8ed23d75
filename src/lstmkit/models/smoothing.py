"""The smoothed seasonal anchor: exponential smoothing over the same phase of the input window.

Seasonal naive copies one value per horizon step, the one a season back, so its forecast
carries that value's noise whole. On a level-plus-noise series (Nile) the better simple
forecast averages: step t's anchor is sum_k w_k * y[length - season * (k + 1) + (t mod season)],
w_k proportional to alpha * (1 - alpha)^k over the seasons the window holds (renormalised).
alpha = 1 is seasonal naive exactly (naive when the season is 1). It is one fixed linear filter
of the input window, [horizon x window] weights, so training, predict and ONNX export compute
the same anchor for the cost of a small weighted sum. The network (`models/seq2seq.py`) and
the data module's choice of alpha on validation (`data/series_defaults.py`) both call this.
"""

from __future__ import annotations

import torch

ALPHAS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)  # the grid `alpha=null` chooses from


def anchor_weights(
    lengths: torch.Tensor, steps: int, horizon: int, season: int, alpha: float
) -> torch.Tensor:
    """[B, horizon, steps] weights over each row's input positions, summing to 1 per step.

    Position j of a row of `lengths[b]` real steps is `d = lengths[b] - j` steps back; step t
    (phase p = t mod season) reads it when d + p is a whole number k + 1 of seasons, with
    weight alpha * (1 - alpha)^k. Padded positions (d <= 0) get no weight."""
    back = lengths[:, None, None] - torch.arange(steps, device=lengths.device)[None, None, :]
    phase = torch.arange(horizon, device=lengths.device)[None, :, None] % season
    reach = back + phase  # [B, H, T]
    k = torch.div(reach, season, rounding_mode="floor") - 1
    valid = (back >= 1) & (reach % season == 0) & (k >= 0)
    raw = alpha * (1.0 - alpha) ** k.clamp(min=0).to(torch.float32)
    raw = torch.where(valid, raw, torch.zeros_like(raw))
    return raw / raw.sum(-1, keepdim=True).clamp(min=1e-12)


def smoothed_anchor(
    values: torch.Tensor, lengths: torch.Tensor, horizon: int, season: int, alpha: float
) -> torch.Tensor:
    """The anchor [B, horizon, C] of windows `values` [B, T, C] (their first `lengths` steps).

    A product and a sum, not a matmul: bf16 autocast (trainer.precision=auto on CPUs with
    bf16) would round a matmul's inputs, and alpha = 1 must copy the seasonal-naive value
    exactly."""
    weights = anchor_weights(lengths, values.size(1), horizon, season, alpha).to(values.dtype)
    return (weights[..., None] * values[:, None]).sum(2)
