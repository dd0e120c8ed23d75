"""The suite's cases: CSV files written from data shipped inside installed packages (nothing is
downloaded), and the generic `train.py` overrides a user would type for each.

Each case names only its columns, and for forecasting its horizon and season; every other
setting is the default. Sequence sets keep their official train/test split (a `split` column);
BBC News gets a fixed stratified 70/10/20 split so every seed and every baseline sees the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.data import builtin
from lstmkit.data.split import stratified_split
from lstmkit.data.text import normalise_whitespace


@dataclass(frozen=True)
class Case:
    """One dataset: how to write its CSV, the overrides that train on it, what to report."""

    name: str
    kind: str  # text | sequences | forecast
    write: Callable[[Path], None]
    overrides: tuple[str, ...]
    metrics: tuple[str, ...]  # first = headline; accuracy higher is better, errors lower
    forecast: dict = field(default_factory=dict)  # time / value column, horizon, season


def ucr_writer(name: str) -> Callable[[Path], None]:
    """A UCR/UEA `.ts` pair from sktime in long format, one row per step, official split kept."""

    def write(target: Path) -> None:
        root = builtin.package_dir("sktime") / "datasets" / "data" / name
        frames = []
        for split in ("train", "test"):
            series, labels = builtin.parse_ts(root / f"{name}_{split.upper()}.ts")
            lengths = np.array([len(s) for s in series])
            dims = series[0].shape[1]
            frame = pd.DataFrame(np.concatenate(series), columns=[f"f{i + 1}" for i in range(dims)])
            frame.insert(0, "step", np.concatenate([np.arange(n) for n in lengths]))
            frame.insert(
                0, "series", np.repeat([f"{split}{i:04d}" for i in range(len(series))], lengths)
            )
            frame["label"] = np.repeat(labels, lengths)
            frame["split"] = split
            frames.append(frame)
        pd.concat(frames, ignore_index=True).to_csv(target, index=False)

    return write


def write_bbc(target: Path) -> None:
    """BBC News with a fixed split column: duplicates dropped first, then stratified 70/10/20."""
    raw = target.with_suffix(".raw.csv")
    builtin.bbc_news(raw)
    frame = pd.read_csv(raw)
    raw.unlink()
    frame = frame[~normalise_whitespace(frame["text"]).duplicated()].reset_index(drop=True)
    index = stratified_split(pd.factorize(frame["label"])[0], 0.1, 0.2, 0)
    frame["split"] = ""
    for split, rows in index.items():
        frame.loc[rows, "split"] = split
    frame.to_csv(target, index=False)


def series_writer(package: str, parts: tuple[str, ...], columns: tuple[str, str]) -> Callable:
    """One univariate series shipped as a two-column CSV, renamed to (time, value)."""

    def write(target: Path) -> None:
        frame = pd.read_csv(builtin.package_dir(package).joinpath(*parts))
        frame = frame.iloc[:, -2:]
        frame.columns = list(columns)
        frame.to_csv(target, index=False)

    return write


def sequence_case(name: str, ucr: str) -> Case:
    return Case(
        name,
        "sequences",
        ucr_writer(ucr),
        ("data=sequence_csv", "data.split_column=split"),
        ("acc", "f1"),
    )


def forecast_case(
    name: str,
    write: Callable,
    time: str,
    value: str,
    horizon: int,
    season: int,
    *extra: str,
) -> Case:
    """`extra`: what a user must add beyond columns, horizon and season (say why at the case)."""
    overrides = (
        "data=timeseries_csv",
        "model=seq2seq",
        f"data.time_column={time}",
        f"data.value_columns=[{value}]",
        f"data.horizon={horizon}",
        f"data.season={season}",
        *extra,
    )
    spec = {"time": time, "value": value, "horizon": horizon, "season": season}
    return Case(name, "forecast", write, overrides, ("mae", "mape"), spec)


SKTIME_DATA = ("datasets", "data")
CASES: dict[str, Case] = {
    "bbc_news": Case(
        "bbc_news", "text", write_bbc, ("data=text_csv", "data.split_column=split"), ("acc", "f1")
    ),
    "arrowhead": sequence_case("arrowhead", "ArrowHead"),
    "gunpoint": sequence_case("gunpoint", "GunPoint"),
    "osuleaf": sequence_case("osuleaf", "OSULeaf"),
    "japanese_vowels": sequence_case("japanese_vowels", "JapaneseVowels"),
    "acsf1": sequence_case("acsf1", "ACSF1"),
    "airline": forecast_case(
        "airline",
        series_writer("sktime", (*SKTIME_DATA, "Airline", "Airline.csv"), ("month", "passengers")),
        "month",
        "passengers",
        12,
        12,
    ),
    "sunspots": forecast_case(
        "sunspots",
        series_writer(
            "statsmodels", ("datasets", "sunspots", "sunspots.csv"), ("year", "activity")
        ),
        "year",
        "activity",
        11,
        11,
    ),
    "lynx": forecast_case(
        "lynx",
        series_writer("sktime", (*SKTIME_DATA, "Lynx", "Lynx.csv"), ("year", "lynx")),
        "year",
        "lynx",
        10,
        10,
    ),
    "shampoo": forecast_case(
        "shampoo",
        series_writer(
            "sktime", (*SKTIME_DATA, "ShampooSales", "ShampooSales.csv"), ("month", "sales")
        ),
        "month",
        "sales",
        3,
        12,
    ),
    "nile": forecast_case(
        "nile",
        series_writer("statsmodels", ("datasets", "nile", "nile.csv"), ("year", "volume")),
        "year",
        "volume",
        10,
        1,
    ),
}
QUICK = ("gunpoint", "shampoo")
