"""Forecast the next `horizon` steps after the end of each series in a new CSV.

A quantile model writes its median as `forecast_<column>` and every level as its own column,
`forecast_<column>_q<level>` (q10, q50, q90 for levels 0.1, 0.5, 0.9). Times are written
in the input's own form (`1949-01`, 19490101, 1700).

A run with `data.future_columns` needs their values for the forecast steps: rows after the
last observed value of each series, target cells empty. A series without them for every
step stops the forecast with the series and steps named (a guess would be silently wrong).
Calendar features are computed from the future time stamps and need no rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from lstmkit.data import calendar
from lstmkit.data.readers import read_series
from lstmkit.data.scalers import Scaler
from lstmkit.errors import DataError
from lstmkit.inference.report import PredictReport
from lstmkit.inference.run import LoadedRun


def future_times(times: pd.Series, horizon: int, freq: str | None = None) -> list[Any]:
    """The next `horizon` time stamps (the run's frequency, or the series' own step), or
    blanks if not inferable."""
    if pd.api.types.is_numeric_dtype(times):
        step = times.iloc[-1] - times.iloc[-2] if len(times) > 1 else 1
        return [times.iloc[-1] + step * (k + 1) for k in range(horizon)]
    if freq is None and len(times) >= 3:
        freq = pd.infer_freq(pd.DatetimeIndex(times))
    if freq is None:
        return [None] * horizon
    return list(pd.date_range(times.iloc[-1], periods=horizon + 1, freq=freq)[1:])


def missing_steps(name: str, ahead: np.ndarray, horizon: int) -> str | None:
    """Why the known-future rows `ahead` [rows, K] of series `name` do not cover the horizon."""
    given = np.zeros(horizon, dtype=bool)
    rows = ahead[:horizon]
    given[: len(rows)] = np.isfinite(rows).all(axis=1)
    if given.all():
        return None
    steps = (np.flatnonzero(~given) + 1).tolist()
    shown = ", ".join(map(str, steps[:12])) + (", ..." if len(steps) > 12 else "")
    return f"series {name!r}: step(s) {shown} of {horizon}"


def quantile_name(column: str, level: float) -> str:
    """`forecast_sales_q10` for level 0.1; `q2_5` for 0.025."""
    return f"forecast_{column}_q{100 * level:g}".replace(".", "_")


def _window(
    spec: dict[str, Any], scaler: Scaler, table: Any, rows: np.ndarray, ahead: np.ndarray, sid: int
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """One series' scaled input window [T, F], known-future inputs [H, K] and future stamps."""
    length, horizon = spec["input_length"], spec["horizon"]
    names = list(spec.get("calendar") or [])
    past = table.times.values.iloc[rows[-length:]].reset_index(drop=True)
    stamps = future_times(past, horizon, spec.get("frequency"))
    known = np.zeros((horizon, table.values.shape[1]))
    known[: len(ahead)] = table.values[ahead[:horizon]]
    window = scaler.transform(table.values[rows[-length:]], np.full(length, sid))
    given = len(spec.get("future_columns") or [])  # the last columns of the file's values
    future = scaler.transform(known, np.full(horizon, sid))[:, known.shape[1] - given :]
    return (
        np.hstack([window, calendar.features(past, names)]),
        np.hstack([future, calendar.features(stamps, names)]) if names else future,
        stamps,
    )


def _run_net(
    run: LoadedRun,
    inputs: list[np.ndarray],
    future: list[np.ndarray],
    series: list[int],
    batch_size: int,
) -> torch.Tensor:
    """The network over all windows, `batch_size` at a time (scaled forecasts)."""
    x, known, ids = (
        torch.from_numpy(np.stack(inputs)),
        torch.from_numpy(np.stack(future).astype(np.float32)),
        torch.tensor(series),
    )
    with torch.inference_mode():
        return torch.cat(
            [
                run.net(
                    x[i : i + batch_size],
                    torch.full((len(x[i : i + batch_size]),), x.shape[1]),
                    known[i : i + batch_size],
                    ids[i : i + batch_size],
                )
                for i in range(0, len(x), batch_size)
            ]
        )


def forecast_series(
    run: LoadedRun, path: str, batch_size: int = 256, encoding: str = "utf-8", delimiter: str = ","
) -> tuple[pd.DataFrame, PredictReport]:
    """`horizon` rows per usable series (original units); one status row per unusable one."""
    spec, data = run.spec, run.config.get("data", {})
    future_columns = list(spec.get("future_columns") or [])
    table = read_series(  # the training reader's checks, in the run's own time format
        path,
        spec["time_column"],
        spec["value_columns"],
        spec["series_column"],
        spec["covariate_columns"],
        missing=data.get("missing", "error"),
        time_format=data.get("time_format"),
        dayfirst=bool(data.get("dayfirst", False)),
        encoding=encoding,
        delimiter=delimiter,
        option="",
        future_columns=future_columns,
        future_rows=bool(future_columns),
    )
    values, codes, index = table.values, table.codes, table.index
    ahead = table.ahead if table.ahead is not None else np.zeros(len(values), dtype=bool)
    known = {name: i for i, name in enumerate(spec["series"])}
    scaler = Scaler.from_dict(spec["scaler"])
    levels = list(run.model.params.get("quantiles") or [])
    median = getattr(run.net, "median", 0)
    length, horizon = spec["input_length"], spec["horizon"]
    width = len(spec["value_columns"]) + len(spec["covariate_columns"])
    report = PredictReport(rows=len(values))
    windows, futures, owners, usable, rows, lacking = [], [], [], [], [], []
    unknown_rows: list[np.ndarray] = []
    short_rows: list[np.ndarray] = []
    for s, name in enumerate(table.names):
        mine = np.flatnonzero((codes == s) & ~ahead)
        later = np.flatnonzero((codes == s) & ahead)
        train_id = known.get(name) if spec["series_column"] else 0
        if train_id is None:
            unknown_rows.append(index[mine])
            rows.append({"series": name, "status": "unknown_series"})
        elif len(mine) < length:
            short_rows.append(index[mine])
            rows.append({"series": name, "status": f"too_short ({len(mine)} < {length})"})
        elif future_columns and (why := missing_steps(name, values[later, width:], horizon)):
            lacking.append(why)
        else:
            window, future, stamps = _window(spec, scaler, table, mine, later, train_id)
            windows.append(window)
            futures.append(future)
            owners.append(train_id)
            usable.append((name, stamps))
    if lacking:
        raise DataError(
            f"{path}: the model reads data.future_columns {future_columns} for every forecast "
            f"step, and they are missing for {'; '.join(lacking[:10])}"
            f"{f' (and {len(lacking) - 10} more series)' if len(lacking) > 10 else ''}. Add one "
            f"row per forecast step after each series' last value (target empty, "
            f"{', '.join(future_columns)} filled)."
        )
    if windows:
        scaled = _run_net(run, windows, futures, owners, batch_size)
        series = torch.tensor(owners)
        if levels:  # [B, H, C, Q]: scale each level like a point forecast
            bands = scaler.inverse(scaled.movedim(-1, -2), series).movedim(-2, -1).numpy()
            forecast = bands[..., median]
        else:
            forecast = bands = scaler.inverse(scaled, series).numpy()
        for (name, stamps), values_, band in zip(usable, forecast, bands, strict=True):
            written = table.times.write(stamps)
            for k in range(horizon):
                row = {
                    "series": name,
                    "status": "ok",
                    "step": k + 1,
                    spec["time_column"]: written[k],
                }
                for j, c in enumerate(spec["value_columns"]):
                    row[f"forecast_{c}"] = float(values_[k, j])
                    for i, q in enumerate(levels):
                        row[quantile_name(c, q)] = float(band[k, j, i])
                rows.append(row)
    report.predicted = len(windows)
    report.totals = {"series": len(table.names), "forecast_series": len(windows)}
    cat = np.concatenate
    report.add(
        "unknown_series",
        cat(unknown_rows) if unknown_rows else [],
        "series the model was not trained on (no fitted scaler); not forecast",
    )
    report.add(
        "too_short",
        cat(short_rows) if short_rows else [],
        f"series with fewer than input_length={length} points; not forecast",
    )
    columns = ["series", "status", "step", spec["time_column"]]
    for c in spec["value_columns"]:
        columns += [f"forecast_{c}"] + [quantile_name(c, q) for q in levels]
    return pd.DataFrame(rows, columns=columns), report
