"""Time-series defaults sized to the data: the encoder's input length, the log transform and
the season the forecast is anchored at.

A fixed 24-step input leaves no training window on a 36-month series once the backtest has
taken its validation and test origins, and a user cannot know to shorten it. Both choices
here look at the training spans only (never val or test), and say what they chose and why.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import skew

from lstmkit.forecast_metrics import seasonal_naive_index

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


def anchor_season_for(
    values: np.ndarray, val_origins: np.ndarray, horizon: int, season: int, input_length: int
) -> tuple[int, str]:
    """The season a seasonal anchor (`model.anchor=seasonal`) reads back: the data's when its
    seasonal-naive forecast scores at least as well as the naive one on the validation origins
    (MAE over every target), else 1, the naive forecast; 1 when the input window is shorter
    than one season. A choice made on validation windows, before any training."""
    if season == 1:
        return 1, "season 1: the naive forecast"
    if input_length < season:
        return 1, (
            f"input_length {input_length} is shorter than the season {season}; set "
            f"data.input_length >= {season} to anchor at the seasonal-naive forecast"
        )
    if not len(val_origins):
        return season, "no validation origin to compare on"
    actual = values[val_origins[:, None] + np.arange(horizon)[None, :]]
    naive = float(np.abs(actual - values[val_origins - 1][:, None]).mean())
    seasonal = float(
        np.abs(actual - values[seasonal_naive_index(val_origins, horizon, season)]).mean()
    )
    scores = f"validation MAE: seasonal naive {seasonal:.4g}, naive {naive:.4g}"
    return (season, scores) if seasonal <= naive else (1, f"the naive forecast; {scores}")
