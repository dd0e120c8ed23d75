"""Fast checks of the forecasting inputs: calendar features, time stamps written back in the
file's own form, backtest origins that shrink for short series, the network's future inputs."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.data.backtest import Backtest
from lstmkit.data.calendar import features, resolve
from lstmkit.data.times import parse_times
from lstmkit.data.timeseries import TimeSeriesDataModule
from lstmkit.errors import ConfigError
from lstmkit.inference.timeseries import future_times
from lstmkit.models.seq2seq import Seq2SeqForecaster


def test_calendar_features_are_cycles_and_auto_follows_the_frequency():
    months = pd.Series(pd.date_range("2001-01", periods=13, freq="MS"))
    x = features(months, ["month"])
    assert x.shape == (13, 2) and np.allclose(x[0], x[12]) and np.allclose(x[0], [0, 1])
    assert np.allclose(x[6], [0, -1], atol=1e-6)  # July is half a year from January
    assert resolve("auto", "MS", dates=True) == ["month"]
    assert resolve("auto", "W-SUN", dates=True) == ["weekofyear"]
    assert resolve("auto", None, dates=False) == [] and resolve(None, "MS", True) == []
    with pytest.raises(ConfigError, match="needs a time column of dates"):
        resolve(["month"], None, dates=False)
    with pytest.raises(ConfigError, match="unknown feature"):
        resolve(["moon"], "MS", dates=True)


@pytest.mark.parametrize(
    ("column", "written"),
    [
        (["1949-01", "1949-02", "1949-03"], ["1949-04", "1949-05"]),
        ([19490101, 19490102, 19490103], [19490104, 19490105]),
        ([194901, 194902, 194903], [194904, 194905]),
        ([1700, 1701, 1702], [1703, 1704]),
        (["03/01/2020", "04/01/2020", "05/01/2020"], ["06/01/2020", "07/01/2020"]),
    ],
)
def test_forecast_times_are_written_in_the_input_form(column, written):
    raw = pd.Series(column)
    dayfirst = "/" in str(column[0])  # 03/01/2020 is 3 January
    times = parse_times(raw, raw.index, "f.csv", "t", dayfirst=dayfirst)
    stamps = future_times(times.values, 2)
    assert times.write(stamps) == written


def test_backtest_origins_shrink_for_a_short_series_instead_of_failing(tmp_path, caplog):
    path = tmp_path / "shampoo.csv"
    months = pd.date_range("2001-01", periods=36, freq="MS").strftime("%Y-%m")
    pd.DataFrame({"month": months, "sales": 100 + np.arange(36.0)}).to_csv(path, index=False)
    with caplog.at_level(logging.WARNING):
        dm = TimeSeriesDataModule(
            str(path),
            time_column="month",
            value_columns=["sales"],
            input_length=24,
            horizon=3,
            backtest={"windows": 3},
            cache_dir=str(tmp_path / "cache"),
        )
        dm.setup()
    # 36 - (3 + 3) horizons = 30 steps: 27 training steps leave one spare origin, for test
    assert dm.task_kwargs()["origins"] == {"val": 1, "test": 2}
    assert "using 2 test and 1 validation origin(s)" in caplog.text
    assert Backtest(windows=3).fit(200, 24, 12) == Backtest(windows=3)  # fits: unchanged
    assert Backtest(windows=3).fit(72, 24, 12) == Backtest(windows=2, val_windows=1)
    assert Backtest(windows=3).fit(60, 24, 12).windows == 1  # too short even so: error later


def test_the_decoder_reads_each_future_step_and_refuses_to_run_without_them():
    torch.manual_seed(0)
    net = Seq2SeqForecaster(input_size=3, horizon=4, future_size=2, hidden_size=8)
    torch.nn.init.normal_(net.head.weight)  # as if trained: a zero head ignores what it reads
    x, lengths = torch.randn(2, 6, 3), torch.tensor([6, 6])
    future = torch.randn(2, 4, 2)
    base = net(x, lengths, future)
    changed = future.clone()
    changed[:, 2] += 1.0  # step 3's inputs change: steps 1-2 must not, step 3 must
    after = net(x, lengths, changed)
    assert torch.equal(after[:, :2], base[:, :2]) and not torch.allclose(after[:, 2], base[:, 2])
    with pytest.raises(ValueError, match="known-future inputs"):
        net(x, lengths)
    direct = Seq2SeqForecaster(input_size=3, horizon=4, future_size=2, head="direct")
    assert direct(x, lengths, future).shape == (2, 4, 1)
