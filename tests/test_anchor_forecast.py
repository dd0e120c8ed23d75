"""The seasonal anchor: an untrained forecaster IS the seasonal-naive forecast, through the
scaler, predict and ONNX; a run keeps that anchor when no trained epoch beats it on val."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import monthly_sales_csv, sales, tiny_forecast_overrides, trained_run

from lstmkit.inference.export import export_onnx
from lstmkit.inference.predict import predict
from lstmkit.models.seq2seq import Seq2SeqForecaster

HORIZON, SEASON = 6, 12


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """By hand: step t copies the value one season before it."""
    return np.array([history[len(history) - season + t % season] for t in range(horizon)])


@pytest.mark.parametrize("head", ["autoregressive", "direct"])
@pytest.mark.parametrize(("season", "horizon"), [(3, 7), (5, 2), (1, 4)])
def test_an_untrained_network_forecasts_the_seasonal_naive_values(head, season, horizon):
    torch.manual_seed(0)
    net = Seq2SeqForecaster(input_size=2, horizon=horizon, season=season, head=head)
    x, lengths = torch.randn(3, 8, 2), torch.full((3,), 8)
    forecast = net(x, lengths)
    expected = np.stack([seasonal_naive(row[:, 0], horizon, season) for row in x.numpy()])
    np.testing.assert_allclose(forecast[..., 0].detach().numpy(), expected, rtol=1e-6)
    assert torch.equal(net.untrained(x, lengths), forecast)


def test_the_older_relative_switch_still_loads_as_last_or_none():
    assert Seq2SeqForecaster(input_size=1, horizon=2, season=4, relative=True).anchor == "last"
    net = Seq2SeqForecaster(input_size=1, horizon=2, season=4, relative=False)
    assert net.anchor == "none" and not net.relative


def anchor_run(tmp: Path, *extra: str, trend: bool = True) -> Path:
    csv = monthly_sales_csv(tmp, trend=trend)
    overrides = tiny_forecast_overrides(
        csv, HORIZON, "data.windows_per_epoch=32", "trainer.max_epochs=2", *extra
    )
    return trained_run(tmp / "outputs", *overrides)


@pytest.fixture(scope="module")
def still_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained with a learning rate of 1e-12: the network stays as built, the anchor alone."""
    return anchor_run(tmp_path_factory.mktemp("still"), "optimizer.lr=1e-12")


def test_predict_and_onnx_give_the_seasonal_naive_forecast(still_run, tmp_path):
    params = json.loads((still_run / "model.json").read_text())["params"]
    assert params["anchor"] == "seasonal" and params["season"] == SEASON  # from the frequency
    history = sales({"a": 84})["sales"].to_numpy(np.float64)
    predict(str(still_run), str(monthly_sales_csv(tmp_path)), str(tmp_path / "f.csv"))
    out = np.loadtxt(tmp_path / "f.csv", delimiter=",", skiprows=1, usecols=-1)
    # by hand: the scaler (standard, fitted on the training span) is undone exactly
    np.testing.assert_allclose(out, seasonal_naive(history, HORIZON, SEASON), rtol=1e-5)
    result = export_onnx(still_run, tmp_path / "model.onnx")
    assert result["max_abs_diff"] < 1e-4
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    x = np.random.default_rng(0).normal(size=(2, 24, 1)).astype(np.float32)
    (onnx_out,) = session.run(None, {"inputs": x, "lengths": np.array([24, 24])})
    expected = np.stack([seasonal_naive(row[:, 0], HORIZON, SEASON) for row in x])
    np.testing.assert_allclose(onnx_out[..., 0], expected, rtol=1e-5, atol=1e-6)


def test_the_anchor_scores_on_validation_beside_the_baselines(still_run):
    report = json.loads((still_run / "metrics.json").read_text())
    metrics = report["metrics"]
    assert metrics["val/anchor_mae"] == pytest.approx(metrics["val/snaive_mae"], rel=1e-5)
    assert metrics["test/mae"] == pytest.approx(metrics["test/snaive_mae"], rel=1e-5)
    # the trained epochs score the anchor's val loss: either checkpoint is the anchor
    assert report["anchor"]["trained"] == pytest.approx(report["anchor"]["val_loss"], rel=1e-5)


def test_a_run_worse_than_its_anchor_on_validation_keeps_the_anchor(tmp_path):
    # seasonal naive is exact on a purely seasonal series: any trained change is worse
    run = anchor_run(tmp_path, "optimizer.lr=0.1", trend=False)
    report = json.loads((run / "metrics.json").read_text())
    assert report["anchor"]["kept"] == "anchor", report["anchor"]
    assert report["anchor"]["val_loss"] < report["anchor"]["trained"]
    metrics = report["metrics"]
    assert metrics["test/mae"] == pytest.approx(metrics["test/snaive_mae"], rel=1e-5)
    at_best = report["val_at_best"]  # what the suite reads as the run's val scores
    assert at_best["val/mae"] == pytest.approx(at_best["val/snaive_mae"], rel=1e-5)
    assert at_best["val/loss"] == report["anchor"]["val_loss"]
    state = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert not state["net.head.weight"].any() and not state["net.head.bias"].any()
    assert "keeping the anchor" in (run / "train.log").read_text()


def test_a_kept_anchor_has_its_intervals_recalibrated_on_validation(tmp_path):
    # on a purely seasonal series the anchored median is exact, so the untrained gaps already
    # cover every validation point: recalibrating for the anchor gives zero offsets, whatever
    # the trained epoch's offsets were
    run = anchor_run(tmp_path, "optimizer.lr=0.1", "model.quantiles=[0.1,0.5,0.9]", trend=False)
    report = json.loads((run / "metrics.json").read_text())
    assert report["anchor"]["kept"] == "anchor", report["anchor"]
    state = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert not state["net.head.weight"].any()
    assert torch.equal(state["net.widen"], torch.zeros(3))
    assert "widened again on validation" in (run / "train.log").read_text()
    assert report["metrics"]["test/coverage_80"] == 1.0
