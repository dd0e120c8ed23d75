"""`data.backtest.val_windows=null`: `windows` validation origins, or more on a long series, as
many as a quarter of the steps before the test span holds (sunspots: 6 instead of 3)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import sales, tiny_forecast_overrides, trained_run

from lstmkit.data.backtest import Backtest


@pytest.mark.parametrize(
    ("length", "horizon", "config", "expected"),
    [
        (309, 11, {"windows": 3}, 6),  # sunspots: (309 - 33) / 4 = 69 steps hold 1 + 58 // 11
        (144, 12, {"windows": 3, "step": 12}, 3),  # airline: 27 steps hold 2 < windows
        (114, 10, {"windows": 3}, 3),  # lynx: 21 steps
        (100, 10, {"windows": 3}, 3),  # Nile: 17.5 steps
        (36, 3, {"windows": 3}, 3),  # shampoo: 6.75 steps hold 2
        (309, 11, {"windows": 3, "val_windows": 2}, 2),  # set by hand: kept
        (309, 11, {"windows": 3, "step": 5}, 13),  # (309 - 21) / 4 = 72 hold 1 + 61 // 5
    ],
)
def test_a_quarter_of_the_steps_before_test_sets_the_validation_origins(
    length, horizon, config, expected
):
    backtest = Backtest.from_config(config).with_val_windows(length, horizon)
    assert backtest.val_windows == expected
    val, _ = backtest.spans(horizon, None, None)
    step = config.get("step") or horizon
    assert val == horizon + (expected - 1) * step


def test_without_backtest_windows_nothing_changes():
    assert Backtest.from_config({}).with_val_windows(500, 7) == Backtest()


def test_a_long_series_trains_on_what_the_longer_validation_leaves(tmp_path):
    csv = tmp_path / "sales.csv"
    frame = sales({"a": 200})
    frame.to_csv(csv, index=False)
    overrides = tiny_forecast_overrides(csv, 6, "data.windows_per_epoch=32", "trainer.max_epochs=1")
    run = trained_run(tmp_path / "outputs", *overrides)
    # by hand: (200 - 6) / 4 = 48.5 steps hold 1 + 42 // 6 = 8 origins, a span of 48 steps
    meta = json.loads((run / "preprocessor" / "meta.json").read_text())
    assert meta["counts"]["val"] == 8 and meta["counts"]["test"] == 1
    spec = json.loads((run / "preprocessor" / "preprocessor.json").read_text())
    y = frame["sales"].to_numpy(np.float64)
    assert spec["scaler"]["center"][0][0] == pytest.approx(y[: 200 - 6 - 48].mean(), rel=1e-9)
    assert "validation: 8 origins" in (run / "train.log").read_text()
    report = json.loads((run / "metrics.json").read_text())  # refit_on_val is off by default
    assert "refit_on_val" not in report and not (run / "select").exists()
