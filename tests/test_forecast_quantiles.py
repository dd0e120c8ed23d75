"""A quantile forecast of the airline series, end to end: backtest metrics, predict, ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import trained_run
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lstmkit.data import builtin
from lstmkit.data.calendar import features
from lstmkit.data.scalers import Scaler
from lstmkit.errors import DataError
from lstmkit.inference.export import export_onnx
from lstmkit.inference.predict import predict
from lstmkit.inference.run import load_run
from lstmkit.models.spec import ModelSpec

pytestmark = pytest.mark.slow
LEVELS = [0.1, 0.5, 0.9]


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("quantile_run")
    return trained_run(
        tmp / "outputs",
        "experiment=airline",
        f"paths.data_dir={tmp / 'data'}",
        "model.quantiles=[0.1,0.5,0.9]",
        "model.hidden_size=8",
        "data.backtest.windows=2",
        "data.backtest.val_windows=1",
        "data.windows_per_epoch=64",
        "trainer.max_epochs=2",
    )


def test_backtest_metrics_land_in_metrics_json_under_stable_keys(quantile_run):
    scores = json.loads((quantile_run / "metrics.json").read_text())["metrics"]
    for key in ("mape", "ets_mape", "snaive_mape", "naive_mape", "coverage_80", "width_80"):
        per_origin = [scores[f"test/backtest/origin_{k}/{key}"] for k in (1, 2)]
        assert scores[f"test/{key}"] == pytest.approx(np.mean(per_origin), rel=1e-5), key
    assert 0 <= scores["test/coverage_80"] <= 1 and scores["test/width_80"] > 0  # never cross
    assert scores["test/crps"] == pytest.approx(2 * scores["test/pinball"], rel=1e-5)
    assert "val/coverage_80" in scores and "test/backtest/origin_3/mape" not in scores
    log = (quantile_run / "train.log").read_text()
    assert "ETS" in log and "mean over 2 origins" in log
    events = EventAccumulator(str(quantile_run / "tensorboard"), size_guidance={"images": 0})
    events.Reload()  # the forecast figure, drawn with its 0.1-0.9 band
    assert "test/forecast_vs_actual" in events.Tags()["images"]
    assert {"test/coverage_80", "test/backtest/origin_1/ets_mape"} <= set(events.Tags()["scalars"])


def test_predict_writes_one_column_per_quantile_checked_by_hand(quantile_run, tmp_path):
    frame = pd.read_csv(builtin.materialise("airline", tmp_path / "airline.csv"))
    frame.iloc[:-6].to_csv(tmp_path / "new.csv", index=False)  # forecast from mid-1960
    predict(str(quantile_run), str(tmp_path / "new.csv"), str(tmp_path / "f.csv"))
    out = pd.read_csv(tmp_path / "f.csv")
    names = ["forecast_passengers_q10", "forecast_passengers_q50", "forecast_passengers_q90"]
    assert list(out.columns[-4:]) == ["forecast_passengers", *names]
    assert np.array_equal(out["forecast_passengers"], out["forecast_passengers_q50"])
    assert (np.diff(out[names].to_numpy(), axis=1) > 0).all()  # the levels never cross

    run = load_run(quantile_run)  # by hand: the last 24 months, scaled, network, inverted
    scaler = Scaler.from_dict(run.spec["scaler"])
    last = frame["passengers"].to_numpy(np.float64)[-6 - 24 : -6, None]
    x = scaler.transform(last, np.zeros(24, dtype=int))
    # airline's default calendar=auto: sin and cos of the month, past and forecast steps
    months = pd.to_datetime(frame["month"], format="%Y-%m")
    ahead = pd.date_range(months.iloc[-7], periods=13, freq="MS")[1:]
    x = np.hstack([x, features(months.iloc[-6 - 24 : -6], ["month"])])[None]
    future = features(ahead, ["month"])[None]
    with torch.inference_mode():
        scaled = run.net(torch.from_numpy(x), torch.tensor([24]), torch.from_numpy(future))
        scaled = scaled[0, :, 0, :]  # [H, Q]
    expected = scaled.numpy() * scaler.scale[0, 0] + scaler.center[0, 0]
    if scaler.log:  # airline's default: log1p before scaling (chosen on validation)
        expected = np.expm1(expected)
    np.testing.assert_allclose(out[names].to_numpy(), expected, rtol=1e-5)


def test_onnx_export_carries_the_quantile_axis(quantile_run, tmp_path):
    result = export_onnx(quantile_run, tmp_path / "model.onnx")
    assert result["max_abs_diff"] < 1e-4
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    x = np.zeros((2, 24, 3), dtype=np.float32)  # passengers, sin and cos of the month
    feed = {"inputs": x, "lengths": np.array([24, 24]), "future": np.zeros((2, 12, 2), np.float32)}
    (outputs,) = session.run(None, feed)
    assert outputs.shape == (2, 12, 1, len(LEVELS))


@pytest.mark.parametrize("levels", [[0.9, 0.1], [0.0, 0.5], [0.5, 0.5], "0.5"])
def test_a_saved_spec_with_bad_quantiles_is_refused(levels):
    spec = {"kind": "seq2seq", "params": {"input_size": 1, "horizon": 2, "quantiles": levels}}
    with pytest.raises(DataError, match="model.quantiles"):
        ModelSpec.from_dict(spec, "run/model.json")
