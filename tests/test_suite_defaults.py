"""Defaults sized to the data: a short series gets a shorter input, a spiky one log1p, a long
sequence is read in patches."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from helpers import long_frame, patched_sequence_overrides, predicted_test_accuracy, trained_run

from lstmkit.data.patches import TARGET_STEPS, patch, patch_size_for
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
    # 9 test steps; a quarter of the 135 before them holds 1 + (33.75 - 3) // 3 = 11
    # validation origins, a span of 33 steps (val_windows=null on a long series)
    assert len(dm.splits["val"]) == 11
    assert dm.input_length == 30 and len(dm.splits["train"]) == 144 - 9 - 33 - 30 - 3 + 1


def test_a_series_too_short_for_any_input_names_what_to_change(tmp_path):
    with pytest.raises(DataError, match="shorter than input_length \\+ horizon = 4"):
        # the backtest shrinks to 1 test and 1 validation origin (3 steps each), leaving 3
        # training steps: not even a one-step input fits
        datamodule(tmp_path, monthly(9), season=1)


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


def test_patch_reads_consecutive_steps_as_one_and_repeats_the_last_step():
    values = np.arange(14, dtype=np.float32).reshape(7, 2)  # sequences of 5 and 2 steps
    rows, lengths = patch(values, np.array([5, 2]), 2)
    assert lengths.tolist() == [3, 1]
    assert rows.tolist() == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 8, 9],  # step 4 repeated to fill the last patch
        [10, 11, 12, 13],
    ]
    assert patch(values, np.array([5, 2]), 1)[0] is values


def test_patch_size_brings_the_longest_training_sequence_to_target_steps():
    assert patch_size_for(None, np.array([251, 251])) == (
        8,
        f"null: the longest training sequence has 251 steps (<= {TARGET_STEPS})",
    )
    assert patch_size_for(None, np.array([7, 29]))[0] == 1
    assert patch_size_for(3, np.array([1000])) == (3, "data.patch")


def test_a_patched_run_predicts_new_sequences_as_it_scored_its_test_split(tmp_path):
    csv = tmp_path / "seq.csv"
    frame = long_frame(n_per_class=20)
    frame.to_csv(csv, index=False)
    run = trained_run(tmp_path / "out", *patched_sequence_overrides(csv))
    spec = json.loads((run / "preprocessor" / "preprocessor.json").read_text())
    assert spec["patch"] == 3
    accuracy = predicted_test_accuracy(run, frame, tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert accuracy == pytest.approx(metrics["test/acc"], abs=1e-6)
