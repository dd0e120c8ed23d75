"""Baselines and forecast metrics on hand-checked numbers, and on the airline series."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.data import builtin
from lstmkit.data.timeseries import TimeSeriesDataModule
from lstmkit.forecast_metrics import (
    forecast_metrics,
    mase_scale,
    naive_forecast,
    seasonal_naive_index,
)


def test_seasonal_naive_copies_the_last_season_before_the_origin():
    # season 4, origin 10, horizon 6: steps 0-3 copy rows 6-9, steps 4-5 copy rows 6-7 again
    assert seasonal_naive_index(np.array([10]), 6, 4).tolist() == [[6, 7, 8, 9, 6, 7]]
    assert naive_forecast(np.array([[5.0]]), 3).tolist() == [[[5.0], [5.0], [5.0]]]


def test_metrics_on_a_hand_checked_window():
    actual = torch.tensor([[[100.0], [200.0], [0.0], [50.0]]])
    forecast = torch.tensor([[[110.0], [150.0], [10.0], [50.0]]])
    scores = forecast_metrics(actual, forecast, torch.tensor([[20.0]]))
    assert float(scores["mae"]) == pytest.approx((10 + 50 + 10 + 0) / 4)
    assert float(scores["rmse"]) == pytest.approx(np.sqrt((100 + 2500 + 100) / 4))
    assert float(scores["mape"]) == pytest.approx(100 * (0.1 + 0.25 + 0.0) / 3)  # zero left out
    smape = (2 * 10 / 210 + 2 * 50 / 350 + 2 * 10 / 10 + 0) / 4
    assert float(scores["smape"]) == pytest.approx(100 * smape)
    assert float(scores["mase"]) == pytest.approx(17.5 / 20)
    series = np.array([[1.0], [2.0], [4.0], [7.0], [11.0]])
    assert mase_scale(series, 2).tolist() == [(3 + 5 + 7) / 3]


def test_airline_seasonal_naive_is_the_published_9_99_percent(tmp_path):
    path = builtin.materialise("airline", tmp_path / "airline.csv")
    dm = TimeSeriesDataModule(
        str(path),
        time_column="month",
        value_columns=["passengers"],
        input_length=24,
        horizon=12,
        val_size=12,
        test_size=12,
        season=12,
        cache_dir=str(tmp_path / "cache"),
    )
    dm.setup()
    test = dm.splits["test"]
    assert len(test) == 1
    batch = test.__getitems__([0])
    assert batch["actual"][0, :3, 0].tolist() == [417.0, 391.0, 419.0]  # Jan-Mar 1960
    assert batch["snaive"][0, :3, 0].tolist() == [360.0, 342.0, 406.0]  # Jan-Mar 1959
    assert batch["naive"][0, :, 0].unique().tolist() == [405.0]  # Dec 1959
    scores = forecast_metrics(batch["actual"], batch["snaive"], batch["mase_scale"])
    assert float(scores["mape"]) == pytest.approx(9.99, abs=0.005)
