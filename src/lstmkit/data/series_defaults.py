"""Time-series defaults sized to the data: the encoder's input length, the log transform and
the season and smoothing the forecast is anchored at.

A fixed 24-step input leaves no training window on a 36-month series once the backtest has
taken its validation and test origins, and a user cannot know to shorten it. The input
length and the log transform look at the training spans only, the anchor at the validation
origins (never test), and each says what it chose and why.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import skew

from lstmkit.models.smoothing import ALPHAS, smoothed_anchor

PREFERRED_INPUT = 24  # steps the encoder reads when the series are long enough
MIN_TRAIN_WINDOWS = 4  # training windows the shortest series must keep (stride 1)
SKEW_MARGIN = 0.25  # log1p must cut |skewness| by at least this much to be worth it


def input_length_for(
    setting: int | None, train_spans: np.ndarray, horizon: int, season: int = 1
) -> tuple[int, str]:
    """`data.input_length`, or (null) the preferred length (at least one season, which the
    seasonal anchor reads) shortened so that the shortest training span still holds
    MIN_TRAIN_WINDOWS windows; at least one step."""
    if setting is not None:
        return int(setting), "data.input_length"
    preferred = max(PREFERRED_INPUT, season)
    shortest = int(train_spans.min())
    room = shortest - horizon - MIN_TRAIN_WINDOWS + 1
    if room >= preferred:
        return preferred, f"the default; the shortest training span ({shortest}) fits it"
    length = max(1, room)
    return length, (
        f"shortened from {preferred}: the shortest training span has {shortest} steps, "
        f"and horizon {horizon} plus {MIN_TRAIN_WINDOWS} training windows must fit"
    )


def log_transform_for(
    setting: bool | None, train_targets: np.ndarray, series: np.ndarray
) -> tuple[bool, str]:
    """`data.log_transform`, or (null) log1p when the training targets are non-negative and
    log1p makes them markedly more symmetric (median over series and targets of |skewness|
    lower by SKEW_MARGIN): spiky, multiplicative series such as counts, where errors scale
    with the level. Skewness is taken per series, so series of different levels do not
    look skewed together."""
    if setting is not None:
        return bool(setting), "data.log_transform"
    values = train_targets.astype(np.float64)
    if (values < 0).any():
        return False, "null: the training spans hold negative values"
    raw, logged = (
        float(np.median([np.abs(skew(f(values[series == s]), axis=0)) for s in np.unique(series)]))
        for f in (np.asarray, np.log1p)
    )
    chosen = bool(logged + SKEW_MARGIN < raw)
    return chosen, (
        f"null: median |skewness| of the training spans {raw:.2f} raw, {logged:.2f} after log1p"
        f" (log1p when it is lower by more than {SKEW_MARGIN})"
    )


def anchor_for(
    values: np.ndarray,
    val_origins: np.ndarray,
    horizon: int,
    season: int,
    input_length: int,
    alpha: float | None = None,
    log: bool = False,
) -> tuple[int, float, str]:
    """The season a seasonal anchor (`model.anchor=seasonal`) reads back and its smoothing
    `alpha` (`data.anchor_alpha`; null = chosen here): the pair whose anchor scores the lowest
    MAE (original units, every target) on the validation origins, among the data's season and
    1 (naive) and the alphas of ALPHAS; ties keep the data's season and the larger alpha. The
    season is 1 when the input window is shorter than one season. Made on validation windows,
    before any training; the anchor is smoothed where the network smooths it (after log1p)."""
    alphas = ALPHAS if alpha is None else (float(alpha),)
    if season > 1 and input_length < season:
        return (
            1,
            alphas[0],
            (
                f"input_length {input_length} is shorter than the season {season}; set "
                f"data.input_length >= {season} to anchor at the seasonal-naive forecast"
            ),
        )
    if not len(val_origins):
        return season, alphas[0], "no validation origin to compare on"
    actual = values[val_origins[:, None] + np.arange(horizon)[None, :]]
    past = val_origins[:, None] + np.arange(-input_length, 0)[None, :]
    window = torch.from_numpy(np.log1p(values[past]) if log else values[past].astype(np.float64))
    lengths = torch.full((len(val_origins),), input_length)
    scores: dict[tuple[int, float], float] = {}
    for s in dict.fromkeys((season, 1)):
        for a in alphas:
            anchor = smoothed_anchor(window, lengths, horizon, s, a).numpy()
            scores[s, a] = float(np.abs(actual - (np.expm1(anchor) if log else anchor)).mean())
    best = min(scores.values())  # the first of equals (to rounding): dicts keep their order
    chosen = next(key for key, score in scores.items() if score <= best * (1 + 1e-9) + 1e-12)
    said = ", ".join(
        f"{name} {scores[key]:.4g}"
        for name, key in (("seasonal naive", (season, 1.0)), ("naive", (1, 1.0)))
        if key in scores
    )
    return *chosen, (
        f"validation MAE {scores[chosen]:.4g} at season {chosen[0]}, alpha {chosen[1]:g} "
        f"({'data.anchor_alpha' if alpha is not None else 'alpha chosen from 0.1..1'}; {said})"
    )
