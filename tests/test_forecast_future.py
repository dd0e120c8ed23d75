"""Known-future inputs: a promotion flag and calendar features fed to the decoder, end to end.

The generated series is a monthly season plus a jump in every promotion month; the promotion
months are random, so only a model told the flag ahead can place the jumps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import sales, trained_run

from lstmkit.data.calendar import features
from lstmkit.data.scalers import Scaler
from lstmkit.errors import DataError
from lstmkit.inference.export import export_onnx
from lstmkit.inference.predict import predict
from lstmkit.inference.run import load_run

pytestmark = pytest.mark.slow
LENGTH, HORIZON = 12, 6


def promo_frame(n: int = 180, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    promo = (rng.random(n) < 0.3).astype(int)
    sales = 50 + 5 * np.sin(2 * np.pi * t / 12) + 15 * promo + rng.normal(0, 0.5, n)
    months = pd.date_range("2000-01", periods=n, freq="MS").strftime("%Y-%m")
    return pd.DataFrame({"month": months, "promo": promo, "sales": sales.round(3)})


def promo_run(tmp: Path, *extra: str) -> Path:
    csv = tmp / "promo.csv"
    promo_frame().to_csv(csv, index=False)
    return trained_run(
        tmp / "outputs",
        "data=timeseries_csv",
        "model=seq2seq",
        f"data.path={csv}",
        "data.time_column=month",
        "data.value_columns=[sales]",
        f"data.input_length={LENGTH}",
        f"data.horizon={HORIZON}",
        "data.windows_per_epoch=256",
        "data.backtest.ets=false",
        "model.hidden_size=16",
        # promotions, not the season, drive these sales: last year's promo in a seasonal anchor
        # is noise the network must first learn to undo in 6 epochs
        "model.anchor=last",
        "optimizer.lr=1e-2",
        "trainer.max_epochs=6",
        *extra,
    )


@pytest.fixture(scope="module")
def future_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return promo_run(
        tmp_path_factory.mktemp("future"), "data.future_columns=[promo]", "data.calendar=auto"
    )


def test_the_known_future_flag_beats_the_same_model_without_it_on_validation(future_run, tmp_path):
    blind = promo_run(tmp_path)  # the same data, seed and training, promo not given
    told = json.loads((future_run / "metrics.json").read_text())["metrics"]
    not_told = json.loads((blind / "metrics.json").read_text())["metrics"]
    assert told["val/mae"] < 0.5 * not_told["val/mae"], (told["val/mae"], not_told["val/mae"])
    log = (future_run / "train.log").read_text()
    assert "calendar features ['month']" in log  # auto, from the monthly frequency


def test_model_json_and_preprocessing_carry_the_future_inputs(future_run):
    params = json.loads((future_run / "model.json").read_text())["params"]
    # sales + promo in the window; promo and sin/cos of the month ahead
    assert params["input_size"] == 4 and params["future_size"] == 3
    spec = json.loads((future_run / "preprocessor" / "preprocessor.json").read_text())
    assert spec["future_columns"] == ["promo"] and spec["calendar"] == ["month"]


def test_forecast_reads_the_future_rows_checked_by_hand(future_run, tmp_path):
    frame = promo_frame()
    given = frame.iloc[:150].copy()
    ahead = frame.iloc[150 : 150 + HORIZON].assign(sales=np.nan)  # promo known, sales not
    pd.concat([given, ahead]).to_csv(tmp_path / "new.csv", index=False)
    predict(str(future_run), str(tmp_path / "new.csv"), str(tmp_path / "f.csv"))
    out = pd.read_csv(tmp_path / "f.csv", dtype={"month": str})
    assert out["month"].tolist() == ahead["month"].tolist()  # written as in the file: 2012-07

    run = load_run(future_run)  # by hand: scaler on [sales, promo], calendar, network, inverse
    scaler = Scaler.from_dict(run.spec["scaler"])
    past = given.iloc[-LENGTH:]
    stamps = pd.to_datetime(ahead["month"], format="%Y-%m")
    x = scaler.transform(past[["sales", "promo"]].to_numpy(float), np.zeros(LENGTH, dtype=int))
    x = np.hstack([x, features(pd.to_datetime(past["month"], format="%Y-%m"), ["month"])])
    promo = (ahead["promo"].to_numpy(float) - scaler.center[0, 1]) / scaler.scale[0, 1]
    future = np.hstack([promo[:, None], features(stamps, ["month"])]).astype(np.float32)
    with torch.inference_mode():
        scaled = run.net(
            torch.from_numpy(x)[None],
            torch.tensor([LENGTH]),
            torch.from_numpy(future)[None],
            torch.tensor([0]),
        )
    expected = scaled[0, :, 0].numpy() * scaler.scale[0, 0] + scaler.center[0, 0]
    np.testing.assert_allclose(out["forecast_sales"], expected, rtol=1e-5)
    # and the flag moves the forecast: a promotion month is forecast ~15 higher
    jumps = out["forecast_sales"].to_numpy()[ahead["promo"].to_numpy() == 1]
    calm = out["forecast_sales"].to_numpy()[ahead["promo"].to_numpy() == 0]
    assert jumps.min() > calm.max()


def test_predict_refuses_a_forecast_without_the_future_values(future_run, tmp_path):
    frame = promo_frame()
    ahead = frame.iloc[150:154].assign(sales=np.nan)  # 4 of 6 steps, one with promo empty
    ahead.loc[ahead.index[1], "promo"] = np.nan
    pd.concat([frame.iloc[:150], ahead]).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError, match=r"\['promo'\].*series 'series': step\(s\) 2, 5, 6 of 6"):
        predict(str(future_run), str(tmp_path / "new.csv"), str(tmp_path / "f.csv"))
    assert not (tmp_path / "f.csv").exists()


def test_onnx_export_takes_the_future_inputs(future_run, tmp_path):
    result = export_onnx(future_run, tmp_path / "model.onnx")
    assert result["max_abs_diff"] < 1e-4
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    shapes = {i.name: i.shape for i in session.get_inputs()}
    assert shapes["inputs"][1:] == [LENGTH, 4] and shapes["future"][1:] == [HORIZON, 3]


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("panel")
    sales({"a": 60, "b": 60, "c": 60}).to_csv(tmp / "panel.csv", index=False)
    return trained_run(
        tmp / "outputs",
        "data=timeseries_csv",
        "model=seq2seq",
        f"data.path={tmp / 'panel.csv'}",
        "data.time_column=month",
        "data.value_columns=[sales]",
        "data.series_column=store",
        f"data.input_length={LENGTH}",
        f"data.horizon={HORIZON}",
        "data.backtest.ets=false",
        "model.hidden_size=8",
        "model.series_embedding=4",
        "trainer.max_epochs=2",
    )


def test_series_embedding_forecast_checked_by_hand_and_unseen_series_not_forecast(
    panel_run, tmp_path
):
    params = json.loads((panel_run / "model.json").read_text())["params"]
    assert params["series_embedding"] == 4 and params["num_series"] == 3
    frame = pd.concat([sales({"a": 60, "b": 60, "c": 60}), sales({"new": 30}, "2003-01")])
    frame.to_csv(tmp_path / "new.csv", index=False)
    report = predict(str(panel_run), str(tmp_path / "new.csv"), str(tmp_path / "f.csv"))
    out = pd.read_csv(tmp_path / "f.csv")
    assert out.loc[out["series"] == "new", "status"].tolist() == ["unknown_series"]
    assert report["issues"]["unknown_series"]["count"] == 30

    run = load_run(panel_run)  # series "c" by hand: its scaler and its id's vector
    scaler = Scaler.from_dict(run.spec["scaler"])
    code = run.spec["series"].index("c")
    last = frame[frame["store"] == "c"]["sales"].to_numpy(float)[-LENGTH:, None]
    x = torch.from_numpy(scaler.transform(last, np.full(LENGTH, code)))[None]
    with torch.inference_mode():
        own, other = (
            run.net(x, torch.tensor([LENGTH]), None, torch.tensor([s]))[0, :, 0] for s in (code, 0)
        )
    expected = own.numpy() * scaler.scale[code, 0] + scaler.center[code, 0]
    np.testing.assert_allclose(out.loc[out["series"] == "c", "forecast_sales"], expected, rtol=1e-5)
    assert not torch.allclose(own, other)  # the id's vector is read
    assert export_onnx(panel_run, tmp_path / "model.onnx")["max_abs_diff"] < 1e-4
