"""`data.backtest.refit_on_val`: choose on validation in select/, then train anew on train + val
for the chosen step budget; the run folder holds the refitted model that predict and ONNX use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import monthly_sales_csv, run_train, sales, tiny_forecast_overrides, trained_run

from lstmkit.data.backtest import Backtest
from lstmkit.inference.export import export_onnx
from lstmkit.inference.predict import predict

HORIZON = 6
FLAG = "data.backtest.refit_on_val=true"


def forecast_args(csv: Path, *extra: str) -> list[str]:
    return tiny_forecast_overrides(
        csv, HORIZON, "data.windows_per_epoch=64", "trainer.max_epochs=3", *extra
    )


@pytest.fixture(scope="module")
def refit_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No anchor to keep (model.anchor=none): the select run's best epoch is always refitted."""
    tmp = tmp_path_factory.mktemp("refit_val")
    overrides = forecast_args(monthly_sales_csv(tmp), FLAG, "model.anchor=none")
    return trained_run(tmp / "outputs", *overrides)


def test_the_refit_trains_on_train_and_val_for_the_chosen_budget(refit_run):
    report = json.loads((refit_run / "metrics.json").read_text())
    chosen = json.loads((refit_run / "select" / "metrics.json").read_text())
    best = torch.load(refit_run / "select" / "checkpoints" / "best.ckpt", weights_only=True)
    epochs = int(best["epoch"]) + 1
    assert report["refit_on_val"] == {
        "select": "select",
        "refit": True,
        "epochs": epochs,
        "train_on_val": True,
        "steps": best["global_step"],  # 2 steps an epoch in both runs: the same step budget
    }
    assert chosen["budget"]["steps_per_epoch"] == 2 and best["global_step"] == 2 * epochs
    # val scores, objective and anchor choice are the select run's: the refit trained on val
    for key, value in chosen["metrics"].items():
        if key.startswith("val/"):
            assert report["metrics"][key] == value, key
    assert report["objective"] == chosen["objective"]
    assert report["val_at_best"] == chosen["val_at_best"]
    # by hand: the refit's scaler saw the 78 months before the test origin, select's 60
    y = sales({"a": 84})["sales"].to_numpy(np.float64)
    # (3 validation origins: a quarter of the 78 months before the test span holds them)
    for folder, months in ((refit_run, 84 - HORIZON), (refit_run / "select", 84 - 4 * HORIZON)):
        spec = json.loads((folder / "preprocessor" / "preprocessor.json").read_text())
        assert spec["scaler"]["center"][0][0] == pytest.approx(y[:months].mean(), rel=1e-9)
    config = json.loads((refit_run / "config.json").read_text())["config"]
    assert config["data"]["backtest"]["train_on_val"] is True
    assert "early_stopping" not in config["callbacks"]


def test_predict_and_onnx_agree_with_the_refit_test_score(refit_run, tmp_path):
    report = json.loads((refit_run / "metrics.json").read_text())
    frame = sales({"a": 84})
    history, actual = frame.iloc[:-HORIZON], frame["sales"].to_numpy()[-HORIZON:]
    history.to_csv(tmp_path / "history.csv", index=False)
    predict(str(refit_run), str(tmp_path / "history.csv"), str(tmp_path / "f.csv"))
    forecast = pd.read_csv(tmp_path / "f.csv").iloc[:, -1].to_numpy()
    mae = np.abs(forecast - actual).mean()
    assert mae == pytest.approx(report["metrics"]["test/mae"], rel=2e-3)
    assert export_onnx(refit_run, tmp_path / "model.onnx")["max_abs_diff"] < 1e-4


def test_a_kept_anchor_is_the_model_and_nothing_is_refitted(tmp_path):
    seasonal = monthly_sales_csv(tmp_path, trend=False)
    run = trained_run(tmp_path / "outputs", *forecast_args(seasonal, FLAG, "optimizer.lr=0.1"))
    report = json.loads((run / "metrics.json").read_text())
    assert report["anchor"]["kept"] == "anchor"
    assert report["refit_on_val"] == {"select": "select", "refit": False}
    metrics = report["metrics"]
    assert metrics["test/mae"] == pytest.approx(metrics["test/snaive_mae"], rel=1e-5)
    state = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert not state["net.head.weight"].any() and not state["net.head.bias"].any()


def test_quantile_models_are_refused_and_older_backtest_configs_load(tmp_path):
    assert Backtest.from_config({"windows": 3, "refit": False}).refit_on_val is False
    done = run_train(
        *forecast_args(monthly_sales_csv(tmp_path), FLAG, "model.quantiles=[0.1,0.5,0.9]"),
        f"paths.output_dir={tmp_path}",
        f"hydra.run.dir={tmp_path}/run",
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2 and "model.quantiles=null" in said, said[-2000:]
    assert "Traceback" not in said
