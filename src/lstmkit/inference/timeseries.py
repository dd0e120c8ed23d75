"""Forecast the next `horizon` steps after the end of each series in a new CSV.

A quantile model writes its median as `forecast_<column>` and every level as its own column,
`forecast_<column>_q<level>` (q10, q50, q90 for levels 0.1, 0.5, 0.9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from lstmkit.data.readers import read_series
from lstmkit.data.scalers import Scaler
from lstmkit.inference.report import PredictReport
from lstmkit.inference.run import LoadedRun


def future_times(times: pd.Series, horizon: int) -> list:
    """The next `horizon` time stamps (same step as the series), or blanks if not inferable."""
    if pd.api.types.is_numeric_dtype(times):
        step = times.iloc[-1] - times.iloc[-2] if len(times) > 1 else 1
        return [times.iloc[-1] + step * (k + 1) for k in range(horizon)]
    freq = pd.infer_freq(pd.DatetimeIndex(times)) if len(times) >= 3 else None
    if freq is None:
        return [None] * horizon
    stamps = pd.date_range(times.iloc[-1], periods=horizon + 1, freq=freq)[1:]
    return [t.isoformat() for t in stamps]


def quantile_name(column: str, level: float) -> str:
    """`forecast_sales_q10` for level 0.1; `q2_5` for 0.025."""
    return f"forecast_{column}_q{100 * level:g}".replace(".", "_")


def forecast_series(
    run: LoadedRun, path: str, batch_size: int = 256, encoding: str = "utf-8", delimiter: str = ","
) -> tuple[pd.DataFrame, PredictReport]:
    """`horizon` rows per usable series (original units); one status row per unusable one."""
    spec, data = run.spec, run.config.get("data", {})
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
    )
    times, values, codes, index = table.times.values, table.values, table.codes, table.index
    known = {name: i for i, name in enumerate(spec["series"])}
    scaler = Scaler.from_dict(spec["scaler"])
    levels = list(run.model.params.get("quantiles") or [])
    median = getattr(run.net, "median", 0)
    length, horizon = spec["input_length"], spec["horizon"]
    report = PredictReport(rows=len(values))
    windows, owners, usable, rows = [], [], [], []
    unknown_rows: list[np.ndarray] = []
    short_rows: list[np.ndarray] = []
    for s, name in enumerate(table.names):
        mine = np.flatnonzero(codes == s)
        train_id = known.get(name) if spec["series_column"] else 0
        if train_id is None:
            unknown_rows.append(index[mine])
            rows.append({"series": name, "status": "unknown_series"})
        elif len(mine) < length:
            short_rows.append(index[mine])
            rows.append({"series": name, "status": f"too_short ({len(mine)} < {length})"})
        else:
            last = mine[-length:]
            windows.append(scaler.transform(values[last], np.full(length, train_id)))
            owners.append(train_id)
            usable.append((name, times.iloc[last]))
    if windows:
        inputs = torch.from_numpy(np.stack(windows))
        series = torch.tensor(owners)
        with torch.inference_mode():
            scaled = torch.cat(
                [
                    run.net(
                        inputs[i : i + batch_size],
                        torch.full((len(inputs[i : i + batch_size]),), length),
                    )
                    for i in range(0, len(inputs), batch_size)
                ]
            )
        if levels:  # [B, H, C, Q]: scale each level like a point forecast
            bands = scaler.inverse(scaled.movedim(-1, -2), series).movedim(-2, -1).numpy()
            forecast = bands[..., median]
        else:
            forecast = bands = scaler.inverse(scaled, series).numpy()
        for (name, past), values_, band in zip(usable, forecast, bands, strict=True):
            stamps = future_times(past.reset_index(drop=True), horizon)
            for k in range(horizon):
                row = {
                    "series": name,
                    "status": "ok",
                    "step": k + 1,
                    spec["time_column"]: stamps[k],
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
