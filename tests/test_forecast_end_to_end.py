"""Real `python train.py` runs: a tiny forecast and a tiny sequence classification."""

from __future__ import annotations

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow


def test_tiny_forecast_run_reports_metrics_beside_baselines(forecast_run):
    metrics = json.loads((forecast_run / "metrics.json").read_text())["metrics"]
    for prefix in ("test/", "test/naive_", "test/snaive_"):
        assert {f"{prefix}{m}" for m in ("mae", "rmse", "mape", "smape", "mase")} <= set(metrics)
    assert {"val/mape", "val/mase"} <= set(metrics)
    assert metrics["test/snaive_mae"] == pytest.approx(12.0, abs=1e-3)  # trend 1/month x 12
    assert "seasonal naive" in (forecast_run / "train.log").read_text()
    spec = json.loads((forecast_run / "preprocessor" / "preprocessor.json").read_text())
    assert spec["kind"] == "timeseries" and spec["series"] == ["a", "b"]
    assert len(spec["scaler"]["center"]) == 2  # one scaler per series
    events = EventAccumulator(str(forecast_run / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert "test/forecast_vs_actual" in events.Tags()["images"]
    assert {"val/mape", "test/snaive_mape", "train/loss_step"} <= set(events.Tags()["scalars"])


def test_tiny_sequence_classification_run(sequence_run):
    metrics = json.loads((sequence_run / "metrics.json").read_text())["metrics"]
    assert metrics["test/acc"] >= 0.9  # the classes differ by 10 standard deviations
