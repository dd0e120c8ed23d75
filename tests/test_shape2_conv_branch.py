"""The convolutional branch beside the LSTM (models/conv_branch.py): exact under padding, saved
as data, on by default for numeric sequences only, off by an override."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import long_frame, patched_sequence_overrides, predicted_test_accuracy, trained_run

from lstmkit.errors import ConfigError
from lstmkit.inference.export import export_onnx
from lstmkit.models.classifier import RecurrentClassifier
from lstmkit.models.conv_branch import AUTO_NUMERIC
from lstmkit.models.spec import ModelSpec

TARGET = "lstmkit.models.classifier.RecurrentClassifier"
SMALL = {"embedding_dim": 8, "hidden_size": 8}


def branch_model(patch: int = 4) -> RecurrentClassifier:
    torch.manual_seed(0)
    return RecurrentClassifier(3, input_size=2 * patch, conv_branch=True, patch=patch, **SMALL)


def padded_batch(lengths: list[int], patch: int, pad: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Patched series of `lengths` steps, padded to the longest with `pad`."""
    torch.manual_seed(1)
    x = torch.full((len(lengths), max(lengths), 2 * patch), pad)
    for i, n in enumerate(lengths):
        x[i, :n] = torch.randn(n, 2 * patch)
    return x, torch.tensor(lengths)


def test_a_padded_series_scores_as_it_does_alone():
    model = branch_model().eval()
    x, lengths = padded_batch([9, 5, 2], patch=4, pad=0.0)
    together = model(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = model(x[i : i + 1, :n], lengths[i : i + 1])
        assert torch.allclose(alone[0], together[i], atol=1e-5)


def test_training_statistics_skip_the_padded_steps():
    """In training the batch norm's statistics come from valid steps only: whatever the pads
    hold, the logits and the running statistics are the same."""
    outs, stats = [], []
    for pad in (0.0, 1e3):
        model = branch_model().train()
        x, lengths = padded_batch([9, 5, 2], patch=4, pad=pad)
        torch.manual_seed(2)  # the same dropout masks
        outs.append(model(x, lengths))
        assert model.conv is not None
        stats.append(model.conv.norms[0].running_var.clone())
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    assert torch.allclose(stats[0], stats[1])


def test_the_branch_reads_the_raw_steps_inside_the_patches():
    """Patch 4 over 2 features and patch 1 over the same raw steps give the same features."""
    model = branch_model(patch=4).eval()
    x, lengths = padded_batch([6, 3], patch=4, pad=0.0)
    assert model.conv is not None
    raw = x.reshape(2, 24, 2)
    unpatched = type(model.conv)(2, 1)
    unpatched.load_state_dict(model.conv.state_dict())
    unpatched.eval()
    assert torch.allclose(model.conv(x, lengths), unpatched(raw, lengths * 4), atol=1e-5)


def test_auto_is_saved_as_a_choice_and_is_off_for_text():
    model = {"_target_": TARGET, "conv_branch": None, **SMALL}
    numeric = ModelSpec.from_config(model, {"input_size": 8, "num_classes": 3, "patch": 4})
    text = ModelSpec.from_config(model, {"vocab_size": 50, "num_classes": 3})
    assert numeric.params["conv_branch"] is AUTO_NUMERIC  # model.json keeps the choice
    assert text.params["conv_branch"] is False
    assert text.build().conv is None
    with pytest.raises(ConfigError, match="model.conv_branch applies to numeric sequences only"):
        ModelSpec.from_config({**model, "conv_branch": True}, {"vocab_size": 50, "num_classes": 3})


def test_a_run_folder_from_before_the_branch_loads_without_it():
    old = {"num_classes": 3, "input_size": 8, **SMALL}  # no conv_branch, no patch
    net = ModelSpec.from_dict({"kind": "classifier", "params": old}, "old model.json").build()
    assert net.conv is None
    assert net.head[1].in_features == 16  # the pooled BiLSTM alone, as it was trained


@pytest.fixture(scope="module")
def numeric_runs(tmp_path_factory: pytest.TempPathFactory):
    """The same tiny patched sequence run with the branch on and off."""
    tmp = tmp_path_factory.mktemp("conv")
    frame = long_frame(n_per_class=20)
    frame.to_csv(tmp / "seq.csv", index=False)
    common = patched_sequence_overrides(tmp / "seq.csv")
    on = trained_run(tmp / "on", *common, "model.conv_branch=true")
    off = trained_run(tmp / "off", *common, "model.conv_branch=false")
    return frame, on, off


def test_a_run_saves_the_branch_as_data_and_predicts_as_it_scored(numeric_runs, tmp_path):
    frame, on, _ = numeric_runs
    params = json.loads((on / "model.json").read_text())["params"]
    members = params.get("members") or [params]
    assert all(m["conv_branch"] is True and m["patch"] == 3 for m in members)
    accuracy = predicted_test_accuracy(on, frame, tmp_path)
    metrics = json.loads((on / "metrics.json").read_text())["metrics"]
    assert accuracy == pytest.approx(metrics["test/acc"], abs=1e-6)
    assert export_onnx(on, tmp_path / "conv.onnx")["max_abs_diff"] < 1e-4


def test_an_override_turns_the_branch_off(numeric_runs):
    _, _, off = numeric_runs
    params = json.loads((off / "model.json").read_text())["params"]
    members = params.get("members") or [params]
    assert all(m["conv_branch"] is False for m in members)
    assert all(not k.startswith("conv.") for k in ModelSpec.load(off).shapes())
