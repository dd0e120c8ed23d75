"""`data.backtest.refit=true`: one training per origin on everything before it (airline)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import trained_run

pytestmark = pytest.mark.slow


def test_refit_trains_once_per_origin_on_the_history_before_it(tmp_path):
    run = trained_run(
        tmp_path / "outputs",
        "experiment=airline",
        f"paths.data_dir={tmp_path / 'data'}",
        "data.backtest.refit=true",
        "data.backtest.ets=false",
        "data.windows_per_epoch=32",
        "model.hidden_size=8",
        "trainer.max_epochs=1",
    )
    report = json.loads((run / "metrics.json").read_text())
    scores = report["metrics"]
    assert report["refit"]["runs"] == ["refit/1", "refit/2", "."]
    for key in ("mape", "mae", "snaive_mape", "naive_mae"):
        per_origin = [scores[f"test/backtest/origin_{k}/{key}"] for k in (1, 2, 3)]
        assert scores[f"test/{key}"] == pytest.approx(np.mean(per_origin), rel=1e-6), key

    y = pd.read_csv(tmp_path / "data" / "airline.csv")["passengers"].to_numpy(float)
    for k, year in enumerate((1958, 1959, 1960), start=1):  # by hand: last year as forecast
        actual, last_year = y[(year - 1949) * 12 :][:12], y[(year - 1950) * 12 :][:12]
        mape = 100 * np.mean(np.abs(actual - last_year) / actual)
        assert scores[f"test/backtest/origin_{k}/snaive_mape"] == pytest.approx(mape, rel=1e-4)
        # origin k's run fitted its scaler on the months before its two validation years
        folder = run / "refit" / str(k) if k < 3 else run
        spec = json.loads((folder / "preprocessor" / "preprocessor.json").read_text())
        train = np.log1p(y[: (year - 1949 - 2) * 12])
        assert spec["scaler"]["center"][0][0] == pytest.approx(train.mean(), rel=1e-6)
