"""ensemble.neighbours: a nearest-neighbour member, weighted on out-of-fold predictions."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import SEQUENCE_COLUMNS, predicted_test_accuracy, trained_run
from omegaconf import OmegaConf

from lstmkit.errors import ConfigError, DataError
from lstmkit.inference.export import export_onnx
from lstmkit.models.ensemble import Ensemble
from lstmkit.models.neighbours import NearestNeighbours
from lstmkit.models.spec import ModelSpec
from lstmkit.neighbour_choice import Pool, choose


def padded(series: list[np.ndarray], steps: int, fill: float = 1e3):
    """[B, steps, width] with `fill` in the pads (which must never count), and the lengths."""
    width = series[0].shape[1]
    out = torch.full((len(series), steps, width), fill)
    for i, s in enumerate(series):
        out[i, : len(s)] = torch.from_numpy(s).float()
    return out, torch.tensor([len(s) for s in series])


def zero_extended(s: np.ndarray, steps: int) -> np.ndarray:
    out = np.zeros((max(steps, len(s)), s.shape[1]))
    out[: len(s)] = s
    return out


def test_distances_are_euclidean_over_each_series_own_steps_only():
    rng = np.random.default_rng(0)
    stored = [rng.normal(size=(6, 2)) for _ in range(5)]
    member = NearestNeighbours(5, 6, 2, num_classes=2, beta=1.0, scale=1.0)
    member.store(*padded(stored, 6), torch.tensor([0, 1, 0, 1, 1]))
    new = [rng.normal(size=(n, 2)) for n in (6, 4, 8)]  # equal, shorter and longer than stored
    got = member.distances(*padded(new, 9)).numpy()
    for i, s in enumerate(new):
        for j, m in enumerate(stored):
            both = max(len(s), len(m))  # the shorter is extended with zeros
            want = np.sqrt(((zero_extended(s, both) - zero_extended(m, both)) ** 2).sum())
            assert got[i, j] == pytest.approx(want, rel=1e-5)
    # a series scores the same alone as inside a batch padded to any length
    alone = member(*padded(new[1:2], 4, fill=0.0))
    np.testing.assert_allclose(alone.numpy(), member(*padded(new, 12))[1:2].numpy(), atol=1e-5)


def test_class_probabilities_come_from_each_class_nearest_series():
    member = NearestNeighbours(3, 1, 1, num_classes=2, beta=2.0, scale=0.5)
    member.store(torch.tensor([[[0.0]], [[1.0]], [[3.0]]]), torch.ones(3), torch.tensor([0, 1, 0]))
    got = member(torch.tensor([[[2.5]]]), torch.tensor([1])).exp()[0]
    d = torch.tensor([0.5, 1.5])  # class 0: 3.0 is nearest; class 1: 1.0
    torch.testing.assert_close(got, torch.softmax(-2.0 * d / 0.5, 0))


def tiny_classifier(input_size: int = 2, num_classes: int = 3) -> ModelSpec:
    params = {
        "num_classes": num_classes,
        "input_size": input_size,
        "embedding_dim": 4,
        "hidden_size": 4,
        "num_layers": 1,
        "dropout": 0.0,
        "bidirectional": False,
        "embedding_dropout": 0.0,
        "head_dropout": 0.0,
        "pooling": "mean",
        "freeze_embeddings": False,
        "cell": "lstm",
        "backend": "padded",
        "init": "torch",
        "patch": 1,
    }
    return ModelSpec("classifier", params)


NEAR = {"count": 4, "steps": 5, "width": 2, "weight": 0.3, "beta": 4.0, "scale": 1.5}


def test_a_blended_ensemble_returns_the_weighted_mixture_of_probabilities():
    spec = ModelSpec.ensemble([tiny_classifier(), tiny_classifier()], NEAR)
    net = spec.build().eval()
    assert isinstance(net, Ensemble) and net.neighbours is not None
    net.neighbours.store(torch.randn(4, 5, 2), torch.full((4,), 5), torch.tensor([0, 1, 2, 0]))
    inputs, lengths = torch.randn(3, 5, 2), torch.tensor([5, 3, 4])
    with torch.no_grad():
        networks = torch.stack([m(inputs, lengths).softmax(-1) for m in net.members]).mean(0)
        near = net.neighbours(inputs, lengths).exp()
        got = net(inputs, lengths).exp()
    torch.testing.assert_close(got, 0.3 * networks + 0.7 * near)
    assert got.sum(-1).numpy() == pytest.approx(np.ones(3), abs=1e-6)


def test_a_neighbour_entry_is_checked_like_every_other_spec_field():
    good = ModelSpec.ensemble([tiny_classifier()], NEAR).to_dict()
    ModelSpec.from_dict(good, "model.json")  # accepted
    for change, why in (
        ({"weight": 1.0}, "model.neighbours.weight must be in"),
        ({"beta": -1.0}, "model.neighbours.beta must be in"),
        ({"count": "4"}, "model.neighbours.count must be of type int"),
        ({"code": "os.system"}, "unknown option model.neighbours.code"),
    ):
        bad = json.loads(json.dumps(good))
        bad["params"]["neighbours"] |= change
        with pytest.raises(DataError, match=why):
            ModelSpec.from_dict(bad, "model.json")
    bad = json.loads(json.dumps(good))
    del bad["params"]["neighbours"]["scale"]
    with pytest.raises(DataError, match="model.neighbours.scale must be set"):
        ModelSpec.from_dict(bad, "model.json")


def twin_pool(networks_right: bool, lengths: tuple[int, ...] = (5,)) -> Pool:
    """12 series of 3 classes; each has a near twin of its class in another fold."""
    rng = np.random.default_rng(1)
    shapes = rng.normal(size=(6, 5, 2))
    inputs = torch.from_numpy(np.concatenate([shapes, shapes + 0.01])).float()
    labels = torch.tensor([0, 1, 2, 0, 1, 2] * 2)
    fold = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    sizes = torch.tensor([lengths[i % len(lengths)] for i in range(12)])
    if networks_right:  # each twin's label disagrees, and the networks are confidently right
        labels[6:] = torch.tensor([1, 2, 0, 1, 2, 0])
        networks = np.full((12, 3), 0.01)
        networks[np.arange(12), labels.numpy()] = 0.98
        return Pool(inputs, sizes, labels, fold, networks)
    return Pool(inputs, sizes, labels, fold, np.full((12, 3), 1 / 3))


def cfg(neighbours: bool | None = None):
    return OmegaConf.create({"ensemble": {"neighbours": neighbours}})


def test_the_weight_follows_the_out_of_fold_predictions():
    listen = choose(cfg(), twin_pool(networks_right=False), num_classes=3)
    assert listen.member is not None and listen.weight == 0.1  # chance networks: lowest share
    scores = listen.summary["out_of_fold"]
    assert scores["neighbours"]["acc"] == 1.0 and scores["networks"]["loss"] == pytest.approx(
        math.log(3), abs=1e-6
    )
    assert listen.member.memory.shape == (12, 10) and len(listen.fold_members) == 4
    # fold i's member remembers only the other folds' series, as member i trained on them
    assert [int(m.memory.shape[0]) for m in listen.fold_members] == [9, 9, 9, 9]
    assert listen.spec() == {
        "count": 12,
        "steps": 5,
        "width": 2,
        "weight": 0.1,
        "beta": listen.summary["beta"],
        "scale": pytest.approx(listen.summary["scale"]),
    }

    ignore = choose(cfg(), twin_pool(networks_right=True), num_classes=3)
    assert ignore.member is None and ignore.spec() is None
    assert ignore.reason == "the networks alone have the lowest out-of-fold loss"
    forced = choose(cfg(True), twin_pool(networks_right=True), num_classes=3)
    assert forced.member is not None and forced.weight == 0.9  # true: always, at most 0.9
    assert choose(cfg(False), twin_pool(False), num_classes=3).member is None


def test_unequal_lengths_turn_the_auto_rule_off_and_bad_settings_are_refused():
    ragged = twin_pool(networks_right=False, lengths=(5, 4))
    off = choose(cfg(), ragged, num_classes=3)
    assert off.member is None and off.reason.startswith("null: the training sequences differ")
    assert choose(cfg(True), ragged, num_classes=3).member is not None
    with pytest.raises(ConfigError, match="ensemble.neighbours must be null, true or false"):
        choose(OmegaConf.create({"ensemble": {"neighbours": "yes"}}), ragged, num_classes=3)


def template_frame(n_per_class: int = 12, steps: int = 16, seed: int = 0) -> pd.DataFrame:
    """Equal-length univariate series: one fixed random outline per class, plus noise."""
    rng = np.random.default_rng(seed)
    outlines = rng.normal(size=(3, steps))
    rows = []
    for label in range(3):
        for i in range(n_per_class):
            rows.append(
                pd.DataFrame(
                    {
                        "sid": f"c{label}_{i}",
                        "t": np.arange(steps),
                        "x": outlines[label] + rng.normal(0, 0.3, steps),
                        "label": f"c{label}",
                        "split": "test" if i < 3 else "train",
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


@pytest.mark.slow
def test_a_fold_ensemble_of_barely_trained_networks_listens_to_its_neighbours(tmp_path):
    frame = template_frame()
    frame.to_csv(tmp_path / "seq.csv", index=False)
    run = trained_run(
        tmp_path / "out",
        "data=sequence_csv",
        f"data.path={tmp_path / 'seq.csv'}",
        *SEQUENCE_COLUMNS,
        "model.hidden_size=4",
        "trainer.max_epochs=1",
        "budget.min_steps=0",
        "optimizer.lr=1e-4",  # chance-level networks: the neighbours must carry the vote
    )
    report = json.loads((run / "metrics.json").read_text())
    near = report["ensemble"]["neighbours"]
    assert near["reason"] == "null: equal lengths"
    assert near["weight"] < 0.5
    assert near["out_of_fold"]["neighbours"]["acc"] > near["out_of_fold"]["networks"]["acc"]
    assert report["metrics"]["val/acc"] == pytest.approx(near["out_of_fold"]["blend"]["acc"])
    spec = json.loads((run / "model.json").read_text())["params"]["neighbours"]
    assert (spec["count"], spec["steps"], spec["width"]) == (27, 16, 1)
    assert spec["weight"] == near["weight"]
    assert "ensemble.neighbours: networks" in (run / "train.log").read_text()
    assert report["metrics"]["test/acc"] == pytest.approx(1.0)  # clean outlines: all right
    accuracy = predicted_test_accuracy(run, frame, tmp_path)
    assert accuracy == pytest.approx(report["metrics"]["test/acc"], abs=1e-6)
    assert export_onnx(run, tmp_path / "blend.onnx")["max_abs_diff"] < 1e-4


def test_the_choice_is_the_same_a_few_rows_at_a_time_and_capped_for_big_sets(monkeypatch):
    import lstmkit.neighbour_choice as choice

    whole = choose(cfg(), twin_pool(networks_right=False), num_classes=3)
    monkeypatch.setattr(choice, "ROWS", 5)  # 12 sequences in blocks of 5, 5 and 2
    blocks = choose(cfg(), twin_pool(networks_right=False), num_classes=3)
    assert blocks.summary == whole.summary
    torch.testing.assert_close(blocks.member.memory, whole.member.memory)
    monkeypatch.setattr(choice, "MAX_SERIES", 11)
    capped = choose(cfg(True), twin_pool(networks_right=False), num_classes=3)
    assert capped.member is None and "more than an exact neighbour search keeps" in capped.reason


def test_an_onnx_graph_of_the_member_takes_series_shorter_and_longer_than_it_stores(tmp_path):
    import onnxruntime as ort

    member = NearestNeighbours(4, 5, 2, num_classes=3, beta=4.0, scale=1.5).eval()
    member.store(torch.randn(4, 5, 2), torch.full((4,), 5), torch.tensor([0, 1, 2, 0]))
    path = tmp_path / "near.onnx"
    example = (torch.randn(2, 9, 2), torch.tensor([9, 4]))  # traced longer than it stores
    torch.onnx.export(
        member,
        example,
        str(path),
        dynamo=False,
        input_names=["inputs", "lengths"],
        output_names=["outputs"],
        dynamic_axes={"inputs": {0: "batch", 1: "time"}, "lengths": {0: "batch"}},
        opset_version=17,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for steps, lengths in ((3, [3, 2, 1]), (5, [5, 5, 4]), (11, [11, 6, 2])):
        inputs = torch.randn(3, steps, 2)
        got = session.run(None, {"inputs": inputs.numpy(), "lengths": np.array(lengths)})[0]
        want = member(inputs, torch.tensor(lengths)).detach().numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)
