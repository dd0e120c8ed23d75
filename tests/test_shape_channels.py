"""`data.differences`: each step's change from the step before, as extra input channels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import long_frame, predicted_test_accuracy, trained_run

from lstmkit.data.channels import add_differences


def test_differences_restart_at_every_sequence():
    values = np.array([[1.0, 0], [3, 1], [6, 1], [10, 5], [20, 7]])
    out = add_differences(values, np.array([3, 0, 2]))
    np.testing.assert_array_equal(out[:, :2], values)
    np.testing.assert_array_equal(out[:, 2:], [[0, 0], [2, 1], [3, 0], [0, 0], [10, 2]])


@pytest.mark.slow
def test_a_run_with_differences_saves_them_and_predict_takes_them_too(tmp_path):
    frame = long_frame(n_per_class=20)
    frame.to_csv(tmp_path / "seq.csv", index=False)
    run = trained_run(
        tmp_path / "out",
        "data=sequence_csv",
        f"data.path={tmp_path / 'seq.csv'}",
        "data.id_column=sid",
        "data.step_column=t",
        "data.split_column=split",
        "data.differences=true",
        "ensemble.folds=0",
        "model.hidden_size=8",
        "trainer.max_epochs=3",
    )
    spec = json.loads((run / "preprocessor" / "preprocessor.json").read_text())
    assert spec["differences"] is True and spec["patch"] == 1
    assert json.loads((run / "model.json").read_text())["params"]["input_size"] == 4  # a, b, da, db
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert predicted_test_accuracy(run, frame, tmp_path) == pytest.approx(metrics["test/acc"])
