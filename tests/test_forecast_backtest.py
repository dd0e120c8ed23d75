"""Rolling-origin backtests, the ETS baseline, inferred frequencies and metric sums."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.calibration import conformal_widen
from lstmkit.data import builtin
from lstmkit.data.replicas import Replicas
from lstmkit.data.timeseries import TimeSeriesDataModule
from lstmkit.errors import ConfigError
from lstmkit.ets import ets_forecasts
from lstmkit.forecast_metrics import (
    forecast_metrics,
    intervals,
    metric_sums,
    metrics_from_sums,
    pinball,
    quantile_metrics,
    quantile_sums,
)


def positions_frame(n: int, freq: str = "MS") -> pd.DataFrame:
    """One series whose value is its position (+ 100), so a window tells where it lies."""
    times = pd.date_range("2000-01-03", periods=n, freq=freq).strftime("%Y-%m-%d")
    return pd.DataFrame({"time": times, "value": 100.0 + np.arange(n)})


def datamodule(tmp_path, frame: pd.DataFrame, **kw) -> TimeSeriesDataModule:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "series.csv"
    frame.to_csv(path, index=False)
    kw = {"input_length": 8, "horizon": 4, "season": 4} | kw
    dm = TimeSeriesDataModule(str(path), cache_dir=str(tmp_path / "cache"), **kw)
    dm.setup()
    return dm


def test_backtest_scores_the_last_n_origins_step_apart_and_validates_before_them(tmp_path):
    n = 60
    dm = datamodule(
        tmp_path, positions_frame(n), backtest={"windows": 3, "step": 2, "val_windows": 2}
    )
    test, val = dm.splits["test"], dm.splits["val"]
    first = test.__getitems__(list(range(len(test))))["actual"][:, 0, 0].numpy() - 100
    assert first.tolist() == [n - 8, n - 6, n - 4]  # the last 3 origins, 2 steps apart
    assert test.rank.tolist() == [2, 1, 0]  # 0 = the latest origin
    val_batch = val.__getitems__(list(range(len(val))))
    assert (val_batch["actual"][:, 0, 0].numpy() - 100).tolist() == [n - 14, n - 12]
    assert val_batch["actual"].max() - 100 < n - 8  # val targets end before the test span
    assert test.ets is not None and test.ets.shape == (3, 4, 1)
    assert dm.task_kwargs()["origins"] == {"val": 2, "test": 3}


def test_backtest_and_explicit_span_sizes_are_refused_together(tmp_path):
    with pytest.raises(ConfigError, match=r"data.test_size=12 and data.backtest.windows=3"):
        datamodule(tmp_path, positions_frame(60), test_size=12, backtest={"windows": 3})
    with pytest.raises(ConfigError, match=r"data.backtest.step must be a whole number"):
        datamodule(tmp_path, positions_frame(60), backtest={"windows": 3, "step": 0})


def test_ets_sees_only_the_history_before_each_origin_and_beats_naive_on_airline(tmp_path):
    raw = pd.read_csv(builtin.materialise("airline", tmp_path / "airline.csv"))
    values = raw["passengers"].to_numpy(np.float64)[:, None]
    origins = np.array([108, 120, 132])
    ets = ets_forecasts(values, np.zeros(3, dtype=int), origins, 12, 12)
    changed = values.copy()
    changed[108:] *= 3  # the future of the first origin: its forecast must not move
    again = ets_forecasts(changed, np.zeros(1, dtype=int), origins[:1], 12, 12)
    np.testing.assert_allclose(again[0], ets[0], rtol=1e-6)
    actual = np.stack([values[o : o + 12] for o in origins])
    naive = np.repeat(values[origins - 1][:, None], 12, axis=1)
    ape = lambda f: np.abs(f - actual) / actual  # noqa: E731
    assert ape(ets).mean() < 0.06 < ape(naive).mean()  # ETS ~4%, naive ~15% on these years


@pytest.mark.parametrize(
    ("freq", "season", "label"), [("W-MON", 52, "W-MON"), ("QS", 4, "QS"), ("B", 5, "B")]
)
def test_season_defaults_from_the_inferred_frequency_and_is_logged(
    tmp_path, caplog, freq, season, label
):
    caplog.set_level(logging.INFO, logger="lstmkit.data.timeseries")
    n = 3 * season + 40
    dm = datamodule(tmp_path, positions_frame(n, freq), season=None, input_length=4, horizon=2)
    assert dm.season == season and dm.frequency.startswith(label[:2])
    assert f"season {season} (from the frequency)" in caplog.text
    assert dm.task_kwargs()["origins"] == {"val": 1, "test": 1}  # no backtest: one origin each


def test_metric_sums_over_shards_equal_the_metrics_of_the_whole():
    g = torch.Generator().manual_seed(0)
    actual = torch.rand(10, 4, 2, generator=g) + 0.5
    forecast = actual + torch.randn(10, 4, 2, generator=g) * 0.1
    scale = torch.rand(10, 2, generator=g) + 0.1
    whole = forecast_metrics(actual, forecast, scale)
    shards = [slice(0, 3), slice(3, 10)]  # two DDP ranks with unequal shares
    added = sum(metric_sums(actual[s], forecast[s], scale[s]) for s in shards)
    for name, value in metrics_from_sums(added).items():
        assert float(value) == pytest.approx(float(whole[name]), rel=1e-5), name
    assert float(whole["mae"]) == pytest.approx(float((forecast - actual).abs().mean()))


def test_pinball_coverage_and_width_by_hand():
    levels = [0.1, 0.5, 0.9]
    assert intervals(levels) == [(0, 2, 80)]
    actual = torch.tensor([[1.0], [5.0]])  # [W=2, H=1]
    forecast = torch.tensor([[[0.0, 1.0, 2.0]], [[0.0, 1.0, 2.0]]])  # [W, H, Q]
    loss = pinball(actual, forecast, torch.tensor(levels))
    # actual 1: 0.1*1, 0, 0.1*1; actual 5: 0.1*5, 0.5*4, 0.9*3
    assert loss.flatten().tolist() == pytest.approx([0.1, 0.0, 0.1, 0.5, 2.0, 2.7])
    scores = quantile_metrics(quantile_sums(actual, forecast, levels), torch.tensor(2.0), levels)
    assert float(scores["coverage_80"]) == 0.5  # 1 inside [0, 2], 5 outside
    assert float(scores["width_80"]) == 2.0
    assert float(scores["pinball"]) == pytest.approx((0.2 / 3 + 5.2 / 3) / 2)
    assert float(scores["crps"]) == pytest.approx(2 * float(scores["pinball"]))


def test_balanced_sampling_gives_a_short_series_as_many_draws_as_a_long_one(tmp_path):
    long, short = positions_frame(200).assign(id="long"), positions_frame(40).assign(id="short")
    frame = pd.concat([long, short], ignore_index=True)
    kw = {"series_column": "id", "windows_per_epoch": 4000, "test_size": 4, "val_size": 4}
    for balance, share in ((False, 21 / (21 + 181)), (True, 0.5)):
        dm = datamodule(tmp_path / str(balance), frame, balance_series=balance, **kw)
        train = dm.splits["train"]
        drawn = list(dm._loader("train", True, Replicas()).batch_sampler.sampler)
        short_share = np.mean(train.series[drawn] == dm.series_names.index("short"))
        assert short_share == pytest.approx(share, abs=0.03), balance


def test_conformal_widening_covers_the_level_on_validation_and_is_exact_when_repeated():
    levels = [0.1, 0.5, 0.9]
    targets = torch.arange(10.0)[:, None, None]  # [W=10, H=1, C=1], values 0..9
    band = torch.tensor([4.0, 4.5, 5.0])  # every window forecasts [4, 5]: covers 2 of 10
    forecast = band.expand(10, 1, 1, 3).clone()
    widen = conformal_widen(forecast, targets, levels, torch.zeros(3))
    # scores max(4 - y, y - 5): 4 3 2 1 0 0 1 2 3 4; the ceil(11 * 0.8) = 9th smallest is 4
    assert widen.tolist() == pytest.approx([-4.0, 0.0, 4.0])
    lower, upper = 4 + widen[0], 5 + widen[2]
    assert ((targets >= lower) & (targets <= upper)).float().mean() >= 0.8
    again = conformal_widen(forecast + widen, targets, levels, widen)  # already calibrated
    assert again.tolist() == pytest.approx(widen.tolist())
