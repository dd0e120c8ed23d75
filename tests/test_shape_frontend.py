"""`model.frontend`: a linear or convolutional input layer for numeric sequences."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import long_frame, predicted_test_accuracy, trained_run
from torch import nn

from lstmkit.errors import DataError
from lstmkit.inference.export import export_onnx
from lstmkit.models.classifier import RecurrentClassifier
from lstmkit.models.frontend import ConvFrontend
from lstmkit.models.spec import ModelSpec

SIZES = {"num_classes": 3, "input_size": 4, "embedding_dim": 8, "hidden_size": 6}


def spec(**params) -> ModelSpec:
    return ModelSpec.from_dict({"kind": "classifier", "params": SIZES | params}, "model.json")


def test_a_short_sequence_scores_the_same_alone_or_padded_in_a_batch():
    torch.manual_seed(0)
    net = RecurrentClassifier(**SIZES, frontend="conv", backend="padded").eval()
    x = torch.randn(3, 9, 4)
    lengths = torch.tensor([9, 5, 1])
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 0  # batches are right-padded with zeros (Ragged.pad)
    together = net(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = net(x[i : i + 1, :n], lengths[i : i + 1])
        torch.testing.assert_close(together[i : i + 1], alone, atol=1e-6, rtol=0)


def test_each_step_sees_its_neighbours_through_the_conv_only():
    torch.manual_seed(0)
    x = torch.zeros(5, 1, 4)  # time-major, as the classifier hands it over
    x[2] = 1.0
    conv = ConvFrontend(4, 8)(x)
    linear = nn.Linear(4, 8)(x)
    changed = lambda y: (y - y[0]).abs().sum(dim=(1, 2)) > 0  # noqa: E731
    assert changed(conv).tolist() == [False, True, True, True, False]
    assert changed(linear).tolist() == [False, False, True, False, False]


def test_old_specs_load_as_linear_and_a_bad_value_is_refused():
    assert isinstance(spec().build().input_layer, nn.Linear)  # runs saved before the option
    assert isinstance(spec(frontend="linear").build().input_layer, nn.Linear)
    assert isinstance(spec(frontend="conv").build().input_layer, ConvFrontend)
    with pytest.raises(DataError, match=r"model.frontend must be one of \['linear', 'conv'\]"):
        spec(frontend="ConvNet")


@pytest.mark.slow
@pytest.mark.parametrize("frontend", ["conv", "linear"])
def test_a_run_saves_its_frontend_predicts_its_test_score_and_exports(frontend, tmp_path):
    frame = long_frame(n_per_class=20)
    frame.to_csv(tmp_path / "seq.csv", index=False)
    run = trained_run(
        tmp_path / "out",
        "data=sequence_csv",
        f"data.path={tmp_path / 'seq.csv'}",
        "data.id_column=sid",
        "data.step_column=t",
        "data.split_column=split",
        "ensemble.folds=0",
        "model.hidden_size=8",
        "trainer.max_epochs=3",
        f"model.frontend={frontend}",
    )
    saved = json.loads((run / "model.json").read_text())["params"]
    assert saved["frontend"] == frontend
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    accuracy = predicted_test_accuracy(run, frame, tmp_path)
    assert accuracy == pytest.approx(metrics["test/acc"], abs=1e-6)
    result = export_onnx(run, tmp_path / "model.onnx")
    assert result["max_abs_diff"] < 1e-4
