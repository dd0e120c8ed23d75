"""The training budget sizes the epochs to the data; nothing is chosen on test."""

from __future__ import annotations

import json

import pytest
from helpers import QUIET, SEQUENCE_COLUMNS, long_frame, run_train, tiny_run_overrides

from lstmkit.callbacks.best_metric import BestMetric
from lstmkit.errors import ConfigError


def sequence_overrides(tmp_path, *extra: str) -> list[str]:
    csv = tmp_path / "seq.csv"
    long_frame(n_per_class=12).to_csv(csv, index=False)
    out = tmp_path / "outputs"
    given = {e.split("=", 1)[0] for e in extra}
    return [
        "data=sequence_csv",
        f"data.path={csv}",
        *SEQUENCE_COLUMNS,
        f"paths.output_dir={out}",
        f"hydra.run.dir={out}/run",
        "model.embedding_dim=8",
        "model.hidden_size=8",
        "trainer.max_epochs=2",
        "callbacks.early_stopping=null",
        "ensemble.folds=0",  # one run's budget, not a cross-validated ensemble's
        *(q for q in QUIET if q.split("=", 1)[0] not in given),
        *extra,
    ]


def test_small_set_repeats_to_the_minimum_steps_and_says_why(tmp_path):
    # 18 training sequences in batches of 32: 1 step an epoch, 2 epochs; the budget asks 20
    done = run_train(*sequence_overrides(tmp_path, "budget.min_steps=20"))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "outputs/run/metrics.json").read_text())
    budget = report["budget"]
    assert budget["repeats"] > 1 and budget["steps_per_epoch"] * 2 >= 20
    assert report["global_step"] == budget["steps_per_epoch"] * 2
    log = (tmp_path / "outputs/run/train.log").read_text()
    assert "training budget: 1 steps x 2 epochs < budget.min_steps=20" in log


def test_repeats_set_by_hand_are_kept(tmp_path):
    done = run_train(*sequence_overrides(tmp_path, "budget.min_steps=20", "data.epoch_repeats=2"))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "outputs/run/metrics.json").read_text())
    budget = report["budget"]
    assert "data.epoch_repeats=2 set by hand" in budget["reason"] and budget["repeats"] == 1
    assert report["global_step"] == budget["steps_per_epoch"] * 2 < 20


def test_texts_repeat_too(tmp_path, text_csv):
    out = tmp_path / "out"
    overrides = tiny_run_overrides(text_csv, out, "callbacks.early_stopping=null")
    overrides = [o for o in overrides if not o.startswith("budget.")] + ["budget.min_steps=24"]
    done = run_train(*overrides, "data.batch_size=64")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "run/metrics.json").read_text())
    # 84 training texts in batches of 64 = 2 steps an epoch; repeated to reach 24 steps
    budget = report["budget"]
    assert budget["repeats"] > 1 and report["global_step"] == budget["steps_per_epoch"] * 2 >= 24


@pytest.mark.parametrize("key", ["objective.metric", "task.monitor"])
def test_choosing_on_test_is_refused(tmp_path, text_csv, key):
    done = run_train(*tiny_run_overrides(text_csv, tmp_path / "out", f"{key}=test/acc"))
    assert done.returncode == 2
    said = done.stdout + done.stderr
    assert f"{key}=test/acc chooses on the test split" in said and "Traceback" not in said
    assert not (tmp_path / "out/run/metrics.json").exists()


def test_best_metric_refuses_a_test_metric():
    with pytest.raises(ConfigError, match="val/mape"):
        BestMetric("test/mape", "min")
