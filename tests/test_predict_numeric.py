"""predict on numeric runs: forecasts from the end of each series, sequence classification."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import long_frame, sales

from lstmkit.data.scalers import Scaler
from lstmkit.inference.predict import predict
from lstmkit.inference.run import load_run

pytestmark = pytest.mark.slow


def test_forecast_from_the_end_of_each_series_in_original_units(forecast_run, tmp_path):
    new = sales({"a": 40, "zz": 40})  # "zz" was not in training: no scaler for it
    short = sales({"a": 5}).assign(store="b")  # a known series with too few points
    frame = pd.concat([new, short], ignore_index=True)
    frame.to_csv(tmp_path / "new.csv", index=False)

    report = predict(str(forecast_run), str(tmp_path / "new.csv"), str(tmp_path / "f.csv"))
    preds = pd.read_csv(tmp_path / "f.csv")
    ok = preds[preds["status"] == "ok"]
    assert ok["series"].unique().tolist() == ["a"] and ok["step"].tolist() == list(range(1, 7))
    assert ok["month"].tolist()[0].startswith("2004-05")  # 40 months from 2001-01, next one
    assert set(preds.loc[preds["status"] != "ok", "status"]) == {
        "unknown_series",
        "too_short (5 < 12)",
    }
    assert report["issues"]["unknown_series"]["count"] == 40
    assert report["issues"]["too_short"]["lines"] == list(range(82, 87))

    run = load_run(forecast_run)  # the same numbers by hand: last 12 points, scaled, inverted
    last = frame[frame["store"] == "a"]["sales"].to_numpy()[-12:, None]
    scaler = Scaler.from_dict(run.spec["scaler"])
    x = torch.from_numpy(scaler.transform(last, np.zeros(12, dtype=int)))[None]
    with torch.inference_mode():
        expected = scaler.inverse(run.net(x, torch.tensor([12])), torch.tensor([0]))[0, :, 0]
    assert np.allclose(ok["forecast_sales"].to_numpy(), expected.numpy(), rtol=1e-5)


def test_sequence_classification_predict(sequence_run, tmp_path):
    new = long_frame(n_per_class=3, seed=5).drop(columns=["label", "split"])
    new.loc[new["sid"] == "high1", "a"] = np.nan  # one unusable sequence
    new.to_csv(tmp_path / "new.csv", index=False)
    report = predict(str(sequence_run), str(tmp_path / "new.csv"), str(tmp_path / "p.csv"))
    preds = pd.read_csv(tmp_path / "p.csv").set_index("sid")
    assert len(preds) == 6 and report["predicted"] == 5
    assert preds.loc["high1", "status"] == "missing_values"
    assert np.isnan(preds.loc["high1", "prob_high"])
    ok = preds[preds["status"] == "ok"]
    assert np.allclose(ok[["prob_high", "prob_low"]].sum(axis=1), 1.0, atol=1e-5)
    assert report["issues"]["missing_values"]["count"] == int((new["sid"] == "high1").sum())
