"""ensemble.size=k: k members on one split, averaged; predict and ONNX export read the folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import make_text_frame, run_script, trained_run

from lstmkit.errors import DataError
from lstmkit.inference.export import export_onnx
from lstmkit.models.spec import ModelSpec


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("ensemble")
    csv = tmp / "texts.csv"
    make_text_frame(n_per_class=20).to_csv(csv, index=False)
    run = trained_run(
        tmp / "out",
        "data=text_csv",
        f"data.path={csv}",
        "model.embedding_dim=8",
        "model.hidden_size=8",
        "data.tokenizer.min_frequency=1",
        "trainer.max_epochs=2",
        "optimizer.lr=1e-2",
        "ensemble.size=2",
    )
    return run, csv


def test_members_are_full_runs_and_the_ensemble_is_scored(ensemble_run):
    run, _ = ensemble_run
    report = json.loads((run / "metrics.json").read_text())
    assert report["ensemble"]["members"] == ["members/0", "members/1"]
    seeds = [
        json.loads((run / m / "config.json").read_text())["config"]["seed"]
        for m in report["ensemble"]["members"]
    ]
    assert seeds == [42, 43]
    assert len(report["ensemble"]["member_metrics"]) == 2
    assert 0.0 <= report["metrics"]["test/acc"] <= 1.0 and "val/acc" in report["metrics"]
    assert ModelSpec.load(run).kind == "ensemble"


def test_predict_and_export_read_an_ensemble_folder(ensemble_run, tmp_path):
    run, csv = ensemble_run
    out = tmp_path / "preds.csv"
    done = run_script("predict.py", f"run={run}", f"input={csv}", f"output={out}", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    preds = pd.read_csv(out)
    probs = preds[[c for c in preds.columns if c.startswith("prob_")]]
    assert probs.sum(axis=1).round(5).eq(1.0).all()  # averaged probabilities still sum to 1
    result = export_onnx(run, tmp_path / "ensemble.onnx")
    assert result["max_abs_diff"] < 1e-4


def test_an_ensemble_spec_with_a_bad_member_is_refused(ensemble_run, tmp_path):
    run, _ = ensemble_run
    data = json.loads((run / "model.json").read_text())
    data["params"]["members"][1]["hidden_size"] = "huge"
    with pytest.raises(DataError, match="member 1"):
        ModelSpec.from_dict(data, "model.json")
    data["params"]["members"][1] = {"_target_": "os.system"}
    with pytest.raises(DataError, match="unknown option model._target_"):
        ModelSpec.from_dict(data, "model.json")
