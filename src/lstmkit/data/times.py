"""Time and step columns: parsed in a stated form, strictly ordered and evenly spaced."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from lstmkit.data.csv import file_rows
from lstmkit.errors import DataError

log = logging.getLogger(__name__)
AUTO = (None, "", "auto")
NUMBER = "number"
# compact numeric dates, tried on integer columns: (format, digits, name)
COMPACT = (("%Y%m%d", 8, "YYYYMMDD"), ("%Y%m", 6, "YYYYMM"))
YEARS = (1800, 2200)  # a compact date outside these years is more likely a plain number


@dataclass(frozen=True)
class Times:
    """Parsed time stamps (numbers or datetime64) and the form they were read in."""

    values: pd.Series
    form: str  # for messages: "numbers", "dates in the form %Y%m%d (YYYYMMDD)", ...
    format: str | None = None  # strftime format read, "number", or None (free-form dates)
    compact: bool = False  # dates written as integers (YYYYMMDD, YYYYMM)

    def write(self, stamps: list[Any]) -> list[Any]:
        """`stamps` (numbers or timestamps) in the form the file was read in: `1949-01` for
        `%Y-%m`, 19490101 for YYYYMMDD, 1700 for numbers; ISO when the form was not fixed."""
        if self.format == NUMBER or not self.format:
            return [None if t is None else t if self.format else t.isoformat() for t in stamps]
        text = [None if t is None else pd.Timestamp(t).strftime(self.format) for t in stamps]
        return [int(t) if self.compact and t is not None else t for t in text]


def _compact_form(times: pd.Series) -> str | None:
    """`%Y%m%d` / `%Y%m` when every value is such a date, else None (plain numbers)."""
    values = times.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return None
    ints = values.astype(np.int64)
    for fmt, digits, _ in COMPACT:
        if ints.min() >= 10 ** (digits - 1) and ints.max() < 10**digits:
            parsed = pd.to_datetime(pd.Series(ints.astype(str)), format=fmt, errors="coerce")
            if parsed.notna().all() and parsed.dt.year.between(*YEARS).all():
                return fmt
    return None


def _form(fmt: str) -> str:
    names = {f: name for f, _, name in COMPACT}
    return f"dates in the form {fmt}" + (f" ({names[fmt]})" if fmt in names else "")


def parse_times(
    times: pd.Series,
    index: pd.Index,
    where: str,
    column: str,
    time_format: str | None = None,
    dayfirst: bool = False,
    settable: bool = True,
) -> Times:
    """Numbers, or dates in `time_format` (a strftime format), guessed when it is not set.

    Integer columns that all read as YYYYMMDD or YYYYMM dates are taken as dates (else their
    steps look irregular: 20200131 -> 20200201); `time_format=number` keeps them numbers.
    The form assumed is logged and named in every later message about the column.
    `settable=False` (predict, which uses the run's own settings) leaves out hints to change them.
    """
    if times.isna().any():
        raise DataError(
            f"{where}: time column {column!r} is empty at "
            f"{file_rows(index[times.isna().to_numpy()])}."
        )
    numeric = pd.api.types.is_numeric_dtype(times)
    fmt = time_format if time_format not in AUTO else None
    guessed = ""
    if fmt is None and numeric:
        fmt = _compact_form(times) or NUMBER
        if fmt != NUMBER:
            log.info(
                "time column %r read as %s; set data.time_format=number to keep plain numbers",
                column,
                _form(fmt),
            )
    elif fmt is None:
        first = str(times.iloc[0])
        fmt = guess_datetime_format(first, dayfirst=dayfirst)
        guessed = f" guessed from {first!r} at line 2" if fmt else ""
        if fmt and "%d" in fmt and "%m" in fmt:
            log.info(
                "time column %r read as %s%s; set data.time_format or data.dayfirst if wrong",
                column,
                _form(fmt),
                guessed,
            )
    if fmt == NUMBER:
        if not numeric:
            bad = pd.to_numeric(times, errors="coerce").isna().to_numpy()
            raise DataError(
                f"{where}: time column {column!r} holds {str(times[bad].iloc[0])!r} at "
                f"{file_rows(index[bad])}, not a number (data.time_format=number)."
            )
        return Times(times, "numbers", NUMBER)
    text = times.astype("int64").astype("string") if numeric else times.astype("string")
    if fmt:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    else:
        parsed = pd.to_datetime(text, errors="coerce", dayfirst=dayfirst)
    bad = parsed.isna().to_numpy()
    if bad.any():
        if fmt:
            what = f"not a date in the form {fmt}{guessed or ' (data.time_format)'}"
        else:
            what = "neither a number nor a date"
        if settable:
            what += ". Set data.time_format to the file's form (e.g. %d/%m/%Y)"
        else:
            what += ". Write the times as in the file the run was trained on"
        raise DataError(
            f"{where}: time column {column!r} holds {str(times[bad].iloc[0])!r} at "
            f"{file_rows(index[bad])}, {what}."
        )
    return Times(parsed, _form(fmt) if fmt else "dates", fmt or None, numeric)


def check_time_order(
    times: pd.Series | Times,
    series: np.ndarray,
    index: pd.Index,
    where: str,
    column: str,
    settable: bool = True,
) -> None:
    """Time steps strictly increasing and evenly spaced within each series."""
    form = times.form if isinstance(times, Times) else ""
    times = times.values if isinstance(times, Times) else times
    numeric = pd.api.types.is_numeric_dtype(times)
    t = times.to_numpy(np.float64) if numeric else times.to_numpy("datetime64[ns]").astype(np.int64)
    same = np.r_[False, series[1:] == series[:-1]]
    diff = np.r_[0, np.diff(t)]
    for mask, what, hint in (
        (same & (diff == 0), "duplicate", "Remove or aggregate the duplicate rows."),
        (same & (diff < 0), "unsorted", "Sort the file by time (within each series)."),
    ):
        if mask.any():
            raise DataError(
                f"{where}: {what} time step(s) in column {column!r} at "
                f"{file_rows(index[mask])}. {hint}"
            )
    if numeric:
        first = pd.Series(np.where(same, diff, np.nan)).groupby(series).transform("first")
        bad = same & (diff != first.to_numpy())
    else:  # calendar steps (months, years) differ in length: ask pandas for the frequency
        bad = np.zeros(len(t), dtype=bool)
        for s in np.unique(series):
            rows = np.flatnonzero(series == s)
            if len(rows) >= 3 and pd.infer_freq(pd.DatetimeIndex(times.iloc[rows])) is None:
                bad[rows[1 + int(np.argmax(np.diff(t[rows])))]] = True
    if bad.any():
        read = f"read as {form}; data.time_format sets the form" if settable else f"read as {form}"
        empty = " (values may be empty with data.missing=interpolate)" if settable else ""
        raise DataError(
            f"{where}: irregular time steps in column {column!r}{f' ({read})' if form else ''} "
            f"(a gap or a changed interval) at {file_rows(index[bad])}. Add the missing "
            f"rows{empty} so every series is evenly spaced."
        )


def check_steps(
    steps: np.ndarray, codes: np.ndarray, index: pd.Index, where: str, column: str
) -> None:
    """Within each sequence the step column must be strictly increasing in file order."""
    same = np.r_[False, codes[1:] == codes[:-1]]
    diff = np.r_[0.0, np.diff(steps)]
    for mask, what in ((same & (diff == 0), "duplicate"), (same & (diff < 0), "unsorted")):
        if mask.any():
            raise DataError(
                f"{where}: {what} step(s) in column {column!r} at "
                f"{file_rows(index[mask])}. Each sequence needs its rows in "
                "increasing step order, one row per step."
            )


# pandas offset prefix -> the seasonal period it usually carries (one cycle in steps)
SEASONS = {"MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4, "W": 52, "D": 7, "B": 5}
SEASONS |= {"h": 24, "H": 24, "min": 60, "T": 60, "BMS": 12, "BME": 12, "BQS": 4, "BQE": 4}


def infer_frequency(times: pd.Series) -> str | None:
    """The pandas frequency of one evenly spaced series of dates (None for numbers / too short)."""
    if pd.api.types.is_numeric_dtype(times) or len(times) < 3:
        return None
    return pd.infer_freq(pd.DatetimeIndex(times))


def season_of(freq: str | None) -> int:
    """Default seasonal period of a frequency: 12 for monthly, 4 quarterly, 52 weekly, 7 daily,
    5 business days, 24 hourly; 1 (no season) for yearly, numeric or unknown steps."""
    if not freq:
        return 1
    base = freq.split("-")[0].lstrip("0123456789")
    return SEASONS.get(base, 1)
