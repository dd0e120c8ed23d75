"""Defaults sized to the data: a short series gets a shorter input, a spiky one log1p."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from lstmkit.data.series_defaults import (
    MIN_TRAIN_WINDOWS,
    PREFERRED_INPUT,
    input_length_for,
    log_transform_for,
)
from lstmkit.data.timeseries import TimeSeriesDataModule
from lstmkit.errors import DataError


def monthly(n: int, level: float = 200.0, spikes: bool = False) -> pd.DataFrame:
    """A seasonal monthly series of `n` points; `spikes`: a lynx-like multiplicative cycle."""
    t = np.arange(n)
    values = level + 10 * t + 30 * np.sin(2 * np.pi * t / 12)
    if spikes:
        values = np.exp(5 + 2 * np.sin(2 * np.pi * t / 10))
    month = pd.period_range("2001-01", periods=n, freq="M").strftime("%Y-%m")
    return pd.DataFrame({"month": month, "sales": values})


def datamodule(tmp_path, frame: pd.DataFrame, **kw) -> TimeSeriesDataModule:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "series.csv"
    frame.to_csv(path, index=False)
    kw = {"time_column": "month", "value_columns": ["sales"], "horizon": 3, "season": 12} | kw
    dm = TimeSeriesDataModule(
        str(path), backtest={"windows": 3, "ets": False}, cache_dir=str(tmp_path / "cache"), **kw
    )
    dm.setup()
    return dm


def test_a_36_point_series_gets_an_input_that_leaves_training_windows(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="lstmkit.data.timeseries")
    dm = datamodule(tmp_path, monthly(36))  # 9 test + 9 val points: 18 left for training
    assert dm.input_length == 18 - 3 - MIN_TRAIN_WINDOWS + 1 == 12
    assert len(dm.splits["train"]) == MIN_TRAIN_WINDOWS
    assert "input_length 12 (shortened from 24" in caplog.text
    again = datamodule(tmp_path, monthly(36))  # from the cache: the same length
    assert again.input_length == 12 and len(again.splits["train"]) == MIN_TRAIN_WINDOWS


def test_a_long_series_and_a_set_input_length_are_left_alone(tmp_path):
    assert datamodule(tmp_path / "a", monthly(144)).input_length == PREFERRED_INPUT
    dm = datamodule(tmp_path / "b", monthly(144), input_length=30)
    assert dm.input_length == 30 and len(dm.splits["train"]) == 144 - 18 - 30 - 3 + 1


def test_a_series_too_short_for_any_input_names_what_to_change(tmp_path):
    with pytest.raises(DataError, match="shorter than input_length \\+ horizon = 4"):
        datamodule(tmp_path, monthly(21), season=1)  # 3 training steps: not even input 1 fits


def test_input_length_rule_uses_the_shortest_training_span():
    length, why = input_length_for(None, np.array([100, 20]), 3)
    assert length == 20 - 3 - MIN_TRAIN_WINDOWS + 1 and "shortest training span has 20" in why
    assert input_length_for(7, np.array([10]), 3) == (7, "data.input_length")


def test_log_transform_null_takes_log_of_spiky_positive_series_only():
    t = np.arange(60)
    spiky = np.exp(5 + 2 * np.sin(2 * np.pi * t / 10))[:, None]
    smooth = (500 + 20 * np.sin(t))[:, None]
    one = np.zeros(60, dtype=int)
    assert log_transform_for(None, spiky, one)[0] is True
    assert log_transform_for(None, smooth, one)[0] is False
    assert log_transform_for(None, spiky - spiky.mean(), one)[0] is False  # negatives
    assert log_transform_for(False, spiky, one) == (False, "data.log_transform")


def test_log_transform_null_is_decided_per_series_not_across_levels():
    t = np.arange(40)
    flat = np.concatenate([100 + np.sin(t), 10_000 + 100 * np.sin(t)])[:, None]
    series = np.repeat([0, 1], 40)  # pooled, two levels look skewed; each series is not
    assert log_transform_for(None, flat, series)[0] is False


def test_log_transform_null_in_the_datamodule_is_saved_with_the_scaler(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="lstmkit.data.timeseries")
    dm = datamodule(tmp_path, monthly(120, spikes=True), log_transform=None, season=10)
    assert dm.scaler is not None and dm.scaler.log
    assert "log1p on the targets: yes (null: median |skewness|" in caplog.text
