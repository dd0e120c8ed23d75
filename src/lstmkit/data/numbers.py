"""Numeric columns of a user's CSV: non-numbers and non-finite values named by line."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from lstmkit.data.csv import file_rows
from lstmkit.errors import ConfigError, DataError

log = logging.getLogger(__name__)
MISSING = ("error", "interpolate", "ffill")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the network and its metrics compute in float32


def numeric_columns(frame: pd.DataFrame, columns: list[str], where: str) -> np.ndarray:
    """Columns as float64 [N, C]; empty cells are NaN (missing), anything else must be finite.

    A text cell or an `inf` would otherwise reach the network and end in a NaN loss (blamed
    on the learning rate) or NaN probabilities reported as ok.
    """
    out = np.empty((len(frame), len(columns)))
    for j, col in enumerate(columns):
        raw = frame[col]
        # Arrow marks a failed conversion as NaN, not as null: test the float values
        num = pd.to_numeric(raw, errors="coerce").astype("float64")
        out[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
        for bad, what, fix in (
            (np.isnan(out[:, j]) & raw.notna().to_numpy(), "a non-numeric value", ""),
            (np.isinf(out[:, j]), "an infinite value", " (inf is not a usable number)"),
            (
                np.isfinite(out[:, j]) & (np.abs(out[:, j]) > FLOAT32_MAX),
                "a value too large for 32-bit floats",
                " (beyond 3.4e38, it becomes inf in the network)",
            ),
        ):
            if bad.any():
                first = frame.index[bad][0]
                raise DataError(
                    f"{where}: column {col!r} holds {what} {raw.loc[first]!r} at "
                    f"{file_rows(frame.index[bad])}{fix}. Fix or remove those cells."
                )
    return out


def fill_missing(
    values: np.ndarray,
    series: np.ndarray,
    how: str,
    names: list[str],
    index: pd.Index,
    where: str,
    settable: bool = True,
) -> np.ndarray:
    """Missing values are an error by default; `interpolate` / `ffill` fill within each series.

    `settable=False` (predict, which uses the run's own setting) leaves out the hint to change it.
    """
    if how not in MISSING:
        raise ConfigError(f"data.missing must be one of {list(MISSING)}, got {how!r}.")
    nan = np.isnan(values)
    if not nan.any():
        return values
    rows = nan.any(axis=1)
    col = names[int(np.flatnonzero(nan[rows][0])[0])]
    if how == "error":
        fix = (
            "Fill them, or set data.missing=interpolate (linear, within each series) or "
            "data.missing=ffill."
            if settable
            else "Fill them: the run was trained with data.missing=error."
        )
        raise DataError(
            f"{where}: missing value(s) in column {col!r} at {file_rows(index[rows])}. {fix}"
        )
    frame = pd.DataFrame(values).groupby(series)
    if how == "interpolate":
        filled = frame.transform(lambda s: s.interpolate(limit_direction="both"))
    else:
        filled = frame.ffill()
    out = filled.to_numpy(np.float64)
    if np.isnan(out).any():
        left = np.isnan(out).any(axis=1)
        raise DataError(
            f"{where}: cannot fill the missing value(s) at {file_rows(index[left])} "
            f"(data.missing={how}: nothing before them in their series). Fill or drop them."
        )
    log.warning("filled %d missing value(s) with data.missing=%s", int(nan.sum()), how)
    return out
