"""Real `python train.py` runs: a tiny forecast and a tiny sequence classification."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import long_frame, run_train
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow

QUIET = [
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",
]


def test_tiny_forecast_run_reports_metrics_beside_baselines(tmp_path):
    n = 96
    t = np.arange(n)
    frame = pd.DataFrame(
        {
            "month": pd.date_range("2001-01", periods=n, freq="MS").strftime("%Y-%m"),
            "sales": 100 + t + 20 * np.sin(2 * np.pi * t / 12),
        }
    )
    csv = tmp_path / "sales.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "outputs"
    done = run_train(
        "data=timeseries_csv",
        "model=seq2seq",
        f"data.path={csv}",
        "data.time_column=month",
        "data.value_columns=[sales]",
        "data.input_length=12",
        "data.horizon=6",
        "model.hidden_size=8",
        "model.attention=true",
        "trainer.max_epochs=2",
        f"paths.output_dir={out}",
        f"hydra.run.dir={out}/run",
        *QUIET,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = out / "run"
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    for prefix in ("test/", "test/naive_", "test/snaive_"):
        assert {f"{prefix}{m}" for m in ("mae", "rmse", "mape", "smape", "mase")} <= set(metrics)
    assert {"val/mape", "val/mase"} <= set(metrics)
    assert metrics["test/snaive_mae"] == pytest.approx(12.0, abs=1e-3)  # trend 1/month x 12
    assert "seasonal naive" in (run / "train.log").read_text()
    spec = json.loads((run / "preprocessor" / "preprocessor.json").read_text())
    assert spec["kind"] == "timeseries" and len(spec["scaler"]["center"]) == 1
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert "test/forecast_vs_actual" in events.Tags()["images"]
    assert {"val/mape", "test/snaive_mape", "train/loss_step"} <= set(events.Tags()["scalars"])


def test_tiny_sequence_classification_run(tmp_path):
    csv = tmp_path / "seq.csv"
    long_frame(n_per_class=20).to_csv(csv, index=False)
    out = tmp_path / "outputs"
    done = run_train(
        "data=sequence_csv",
        "model=lstm",
        f"data.path={csv}",
        "data.id_column=sid",
        "data.step_column=t",
        "data.split_column=split",
        "model.embedding_dim=8",
        "model.hidden_size=8",
        "trainer.max_epochs=6",
        "optimizer.lr=1e-2",
        f"paths.output_dir={out}",
        f"hydra.run.dir={out}/run",
        *QUIET,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "run" / "metrics.json").read_text())["metrics"]
    assert metrics["test/acc"] >= 0.9  # the classes differ by 10 standard deviations
