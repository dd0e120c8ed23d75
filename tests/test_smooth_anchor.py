"""The smoothed seasonal anchor (`data.anchor_alpha`): an untrained forecaster IS exponential
smoothing over each step's phase of the input window, by hand, through the scaler, predict and
ONNX; alpha = 1 is seasonal naive; alpha is chosen on validation; older run folders load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import monthly_sales_csv, sales, tiny_forecast_overrides, trained_run

from lstmkit.config_checks import RULES
from lstmkit.data.series_defaults import anchor_for
from lstmkit.errors import DataError
from lstmkit.inference.export import export_onnx
from lstmkit.inference.predict import predict
from lstmkit.inference.run import load_run
from lstmkit.models.seq2seq import Seq2SeqForecaster
from lstmkit.models.smoothing import smoothed_anchor
from lstmkit.models.spec import ModelSpec

HORIZON, SEASON, ALPHA = 6, 12, 0.4


def smoothed(history: np.ndarray, horizon: int, season: int, alpha: float) -> np.ndarray:
    """By hand: step t averages y[n - season * (k + 1) + t % season] over every k the history
    holds, weights alpha * (1 - alpha)^k, divided by their sum."""
    n, out = len(history), []
    for t in range(horizon):
        weights, values, k = [], [], 0
        while (j := n - season * (k + 1) + t % season) >= 0:
            weights.append(alpha * (1 - alpha) ** k)
            values.append(history[j])
            k += 1
        out.append(np.dot(weights, values) / sum(weights))
    return np.array(out)


@pytest.mark.parametrize("head", ["autoregressive", "direct"])
@pytest.mark.parametrize(("season", "horizon", "alpha"), [(3, 7, 0.3), (5, 2, 0.7), (1, 4, 0.2)])
def test_an_untrained_network_forecasts_the_smoothed_anchor(head, season, horizon, alpha):
    torch.manual_seed(0)
    net = Seq2SeqForecaster(
        input_size=2, horizon=horizon, season=season, anchor_alpha=alpha, head=head
    )
    x, lengths = torch.randn(3, 8, 2), torch.full((3,), 8)
    forecast = net(x, lengths)
    expected = np.stack([smoothed(row[:, 0], horizon, season, alpha) for row in x.numpy()])
    np.testing.assert_allclose(forecast[..., 0].detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(net.untrained(x, lengths), forecast)


@pytest.mark.parametrize(("season", "horizon"), [(4, 9), (1, 3), (6, 6)])
def test_alpha_one_is_exactly_the_seasonal_naive_value(season, horizon):
    x = torch.randn(2, 13, 1, dtype=torch.float64)
    anchor = smoothed_anchor(x, torch.full((2,), 13), horizon, season, 1.0)
    copied = [[row[13 - season + t % season] for t in range(horizon)] for row in x]
    assert torch.equal(anchor, torch.stack([torch.stack(r) for r in copied]))


def test_bf16_autocast_leaves_the_anchor_in_full_precision():
    x = torch.randn(4, 24, 1) * 50 + 300  # a bf16 matmul would round these by ~1
    lengths = torch.full((4,), 24)
    exact = smoothed_anchor(x, lengths, 12, 12, 0.3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = smoothed_anchor(x, lengths, 12, 12, 0.3)
        copied = smoothed_anchor(x, lengths, 12, 12, 1.0)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, exact)
    assert torch.equal(copied, x[:, 12:])


def test_a_shorter_row_smooths_over_its_own_steps_only():
    x = torch.randn(2, 10, 1)
    lengths = torch.tensor([10, 7])  # the second row is padded after step 7
    anchor = smoothed_anchor(x, lengths, 4, 3, 0.5)
    np.testing.assert_allclose(anchor[1, :, 0], smoothed(x[1, :7, 0].numpy(), 4, 3, 0.5), 1e-6)


def test_alpha_is_chosen_on_validation_origins():
    rng = np.random.default_rng(0)
    level = (100 + rng.normal(0, 20, 200))[:, None]  # level plus noise: smoothing pays
    origins = np.arange(150, 190, 10)
    season, alpha, why = anchor_for(level, origins, 10, 1, 24)
    assert season == 1 and alpha < 0.5, why
    t = np.arange(200)
    seasonal = (100 + 20 * np.sin(2 * np.pi * t / 12))[:, None]  # seasonal naive is exact
    assert anchor_for(seasonal, origins, 6, 12, 24)[:2] == (12, 1.0)
    assert anchor_for(level, origins, 10, 1, 24, alpha=0.9)[:2] == (1, 0.9)  # data.anchor_alpha


def test_out_of_range_alphas_are_refused():
    for bad in (0.0, 1.5):
        assert RULES["data.anchor_alpha"].problem(bad)
        spec = {"kind": "seq2seq", "params": {"input_size": 1, "horizon": 2, "anchor_alpha": bad}}
        with pytest.raises(DataError, match="anchor_alpha"):
            ModelSpec.from_dict(spec, "model.json")
    assert RULES["data.anchor_alpha"].problem(None) is None


@pytest.fixture(scope="module")
def still_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained with a learning rate of 1e-12: the network stays as built, the anchor alone."""
    tmp = tmp_path_factory.mktemp("smooth")
    overrides = tiny_forecast_overrides(
        monthly_sales_csv(tmp),
        HORIZON,
        f"data.anchor_alpha={ALPHA}",
        "data.windows_per_epoch=32",
        "trainer.max_epochs=1",
        "optimizer.lr=1e-12",
    )
    return trained_run(tmp / "outputs", *overrides)


def test_predict_and_onnx_give_the_smoothed_anchor(still_run, tmp_path):
    params = json.loads((still_run / "model.json").read_text())["params"]
    assert (params["season"], params["anchor_alpha"]) == (SEASON, ALPHA)
    assert f"smoothed with alpha {ALPHA}" in (still_run / "train.log").read_text()
    history = sales({"a": 84})["sales"].to_numpy(np.float64)
    predict(str(still_run), str(monthly_sales_csv(tmp_path)), str(tmp_path / "f.csv"))
    out = np.loadtxt(tmp_path / "f.csv", delimiter=",", skiprows=1, usecols=-1)
    # by hand on the last 24 months (the input window): the standard scaler is undone exactly
    expected = smoothed(history[-24:], HORIZON, SEASON, ALPHA)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert np.abs(out - smoothed(history[-24:], HORIZON, SEASON, 1.0)).max() > 1
    assert export_onnx(still_run, tmp_path / "model.onnx")["max_abs_diff"] < 1e-4
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    x = np.random.default_rng(0).normal(size=(2, 24, 1)).astype(np.float32)
    (onnx_out,) = session.run(None, {"inputs": x, "lengths": np.array([24, 24])})
    by_hand = np.stack([smoothed(row[:, 0], HORIZON, SEASON, ALPHA) for row in x])
    np.testing.assert_allclose(onnx_out[..., 0], by_hand, rtol=1e-5, atol=1e-5)


def test_a_run_folder_from_before_alpha_loads_as_seasonal_naive(still_run, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(still_run, old)
    spec = json.loads((old / "model.json").read_text())
    del spec["params"]["anchor_alpha"]
    (old / "model.json").write_text(json.dumps(spec))
    assert load_run(old).net.anchor_alpha == 1.0
    predict(str(old), str(monthly_sales_csv(tmp_path)), str(tmp_path / "f.csv"))
    out = np.loadtxt(tmp_path / "f.csv", delimiter=",", skiprows=1, usecols=-1)
    history = sales({"a": 84})["sales"].to_numpy(np.float64)
    np.testing.assert_allclose(out, smoothed(history[-24:], HORIZON, SEASON, 1.0), rtol=1e-5)
