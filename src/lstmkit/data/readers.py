"""Plain (Lightning-free) readers that training and predict share: one set of checks for both.

The DataModules call these to read and validate; `inference/*` calls the same functions on a
new file, so predict never builds a training class to reach its reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.data.csv import file_rows, read_csv
from lstmkit.data.ids import warn_variants
from lstmkit.data.numbers import fill_missing, numeric_columns
from lstmkit.data.times import Times, check_steps, check_time_order, parse_times
from lstmkit.errors import DataError


@dataclass
class SeriesTable:
    """Validated time series rows grouped by series (file order within each)."""

    times: Times
    values: np.ndarray  # float64 [N, targets + covariates], finite, missing filled
    codes: np.ndarray  # series number per row
    index: pd.Index  # 0-based data row in the file, for line numbers
    names: list[str]  # series names by code
    ahead: np.ndarray | None = None  # rows past the last observed target (predict only)


def group_codes(ids: pd.Series, where: str, column: str, what: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes per row (one per distinct id) and the ids; empty ids are an error."""
    if ids.isna().any():
        raise DataError(
            f"{where}: {what} column {column!r} is empty at "
            f"{file_rows(ids.index[ids.isna().to_numpy()])}."
        )
    warn_variants(ids, where, column, f"{what} names" if what == "series" else f"{what}s")
    return pd.factorize(ids.astype("string"))


def read_series(
    path: str | Path,
    time_column: str,
    value_columns: list[str],
    series_column: str | None = None,
    covariate_columns: list[str] | None = None,
    missing: str = "error",
    time_format: str | None = None,
    dayfirst: bool = False,
    encoding: str = "utf-8",
    delimiter: str = ",",
    option: str = "data.",
    future_columns: list[str] | None = None,
    future_rows: bool = False,
) -> SeriesTable:
    """Read, group by series, parse times, check order and spacing, read finite values.

    Columns come back as [targets, covariates, future columns]. `future_rows` (predict with
    known-future inputs) keeps the rows at the end of a series whose targets are all empty as
    rows ahead of the forecast origin: not filled, marked in `SeriesTable.ahead`.
    """
    where = str(path)
    covariates = list(covariate_columns or [])
    known = list(future_columns or [])
    cols = {f"{option}time_column": time_column}
    cols |= {f"{option}value_columns[{i}]": c for i, c in enumerate(value_columns)}
    cols |= {f"{option}covariate_columns[{i}]": c for i, c in enumerate(covariates)}
    cols |= {f"{option}future_columns[{i}]": c for i, c in enumerate(known)}
    if series_column:
        cols[f"{option}series_column"] = series_column
    frame = read_csv(path, cols, encoding, delimiter, option)
    if series_column:
        codes, names = group_codes(frame[series_column], where, series_column, "series")
        order = np.argsort(codes, kind="stable")  # group rows by series, keep file order
        frame, codes = frame.iloc[order], codes[order]
    else:
        codes, names = np.zeros(len(frame), dtype=np.int64), pd.Index(["series"])
    settable = bool(option)  # predict reads with the run's settings: no hint to change them
    times = parse_times(
        frame[time_column], frame.index, where, time_column, time_format, dayfirst, settable
    )
    check_time_order(times, codes, frame.index, where, time_column, settable)
    columns = list(value_columns) + covariates + known
    values = numeric_columns(frame, columns, where)
    codes = np.asarray(codes, dtype=np.int64)
    ahead = np.zeros(len(values), dtype=bool)
    if future_rows:
        ahead = trailing_empty(values[:, : len(value_columns)], codes)
    kept = ~ahead
    values[kept] = fill_missing(
        values[kept], codes[kept], missing, columns, frame.index[kept], where, settable
    )
    return SeriesTable(times, values, codes, frame.index, [str(n) for n in names], ahead)


def trailing_empty(targets: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Rows after the last row with a target value in their series (rows grouped by series)."""
    position = np.arange(len(codes))
    observed = ~np.isnan(targets).all(axis=1)
    last = pd.Series(np.where(observed, position, -1)).groupby(codes).transform("max")
    return position > last.to_numpy()


@dataclass
class SequenceRows:
    """Long-format rows sorted so each sequence's steps are together, in file order."""

    frame: pd.DataFrame
    codes: np.ndarray
    ids: pd.Index  # sequence id by code
    steps: np.ndarray
    values: np.ndarray  # float64 [N, F]; NaN where a cell is empty, never inf


def group_sequences(
    frame: pd.DataFrame, id_column: str, step_column: str, features: list[str], where: str
) -> SequenceRows:
    """Group rows by sequence id, check the steps increase, read the features as numbers."""
    codes, ids = group_codes(frame[id_column], where, id_column, "id")
    order = np.argsort(codes, kind="stable")  # each sequence's rows together, in file order
    frame, codes = frame.iloc[order], codes[order]
    steps = numeric_columns(frame, [step_column], where)[:, 0]
    check_steps(steps, codes, frame.index, where, step_column)
    values = numeric_columns(frame, features, where)
    return SequenceRows(frame, codes, ids, steps, values)
