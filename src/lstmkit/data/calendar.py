"""Calendar features of a time index: inputs known for every future step, by construction.

`data.calendar=[month, dayofweek]` gives each step the sine and cosine of its position in
those cycles (January and December are neighbours, as they are in the weather), two columns
per feature in [-1, 1]: nothing to fit, so nothing can leak from validation or test.
`auto` picks the cycles the inferred frequency carries (monthly data: month of year).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError

# name -> (cycle length, position in the cycle from a DatetimeIndex, 0-based)
FEATURES: dict[str, tuple[int, Callable[[pd.DatetimeIndex], np.ndarray]]] = {
    "month": (12, lambda t: t.month.to_numpy() - 1),
    "quarter": (4, lambda t: t.quarter.to_numpy() - 1),
    "weekofyear": (53, lambda t: t.isocalendar().week.to_numpy(np.int64) - 1),
    "dayofweek": (7, lambda t: t.dayofweek.to_numpy()),
    "dayofmonth": (31, lambda t: t.day.to_numpy() - 1),
    "dayofyear": (366, lambda t: t.dayofyear.to_numpy() - 1),
    "hour": (24, lambda t: t.hour.to_numpy()),
}
# frequency prefix -> the cycles `auto` uses (yearly and numeric steps: none)
AUTO = {
    "MS": ["month"],
    "ME": ["month"],
    "M": ["month"],
    "QS": ["quarter"],
    "QE": ["quarter"],
    "Q": ["quarter"],
    "W": ["weekofyear"],
    "D": ["dayofweek", "dayofyear"],
    "B": ["dayofweek", "month"],
    "h": ["hour", "dayofweek"],
    "H": ["hour", "dayofweek"],
}


def resolve(setting: str | Sequence[str] | None, frequency: str | None, dates: bool) -> list[str]:
    """The feature names `data.calendar` asks for, `auto` resolved from the frequency."""
    if setting in (None, "", "none", "off"):
        return []
    if setting == "auto":
        base = (frequency or "").split("-")[0].lstrip("0123456789")
        return list(AUTO.get(base, [])) if dates else []
    names = [setting] if isinstance(setting, str) else list(setting)
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ConfigError(
            f"data.calendar has unknown feature(s) {unknown}; known: {sorted(FEATURES)} or auto."
        )
    if names and not dates:
        raise ConfigError(
            f"data.calendar={names} needs a time column of dates; this one holds plain numbers. "
            "Set data.calendar=null, or data.time_format to the dates' form."
        )
    return names


def features(times: pd.Series | pd.DatetimeIndex | list, names: list[str]) -> np.ndarray:
    """float32 [N, 2 * len(names)]: sin and cos of each step's position in every cycle."""
    index = pd.DatetimeIndex(times)
    out = np.empty((len(index), 2 * len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        period, position = FEATURES[name]
        angle = 2 * np.pi * position(index).astype(np.float64) / period
        out[:, 2 * j], out[:, 2 * j + 1] = np.sin(angle), np.cos(angle)
    return out
