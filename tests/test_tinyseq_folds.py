"""Tiny sequence sets train a cross-validated ensemble: folds, the rule, the run folder, predict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import (
    ROOT,
    SEQUENCE_COLUMNS,
    long_frame,
    predicted_test_accuracy,
    run_train,
    trained_run,
)
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from lstmkit.cv_ensemble import FOLDS, fold_config, fold_count
from lstmkit.data.folds import check_fold, stratified_folds
from lstmkit.data.sequences import SequenceDataModule
from lstmkit.errors import ConfigError


def test_folds_keep_the_class_proportions_and_sizes_within_one():
    labels = np.array([0] * 12 + [1] * 7 + [2] * 5)
    folds = stratified_folds(labels, 4, seed=3)
    sizes = np.bincount(folds, minlength=4)
    assert sizes.sum() == len(labels) and sizes.max() - sizes.min() <= 1
    for cls in (0, 1, 2):
        per_fold = np.bincount(folds[labels == cls], minlength=4)
        assert per_fold.max() - per_fold.min() <= 1
    np.testing.assert_array_equal(folds, stratified_folds(labels, 4, seed=3))  # seeded
    assert not np.array_equal(folds, stratified_folds(labels, 4, seed=4))


def test_fold_settings_are_checked():
    check_fold(None, None)
    check_fold(4, 3)
    for folds, fold in ((4, None), (None, 0), (1, 0), (4, 4), (4, -1)):
        with pytest.raises(ConfigError, match="data.folds"):
            check_fold(folds, fold)
    with pytest.raises(ConfigError, match="ensemble.folds=4 needs at least 4 training"):
        stratified_folds(np.array([0, 1, 1]), 4, seed=0)


def fold_module(tmp_path, fold: int | None) -> SequenceDataModule:
    path = tmp_path / "seq.csv"
    if not path.exists():
        long_frame(n_per_class=20).to_csv(path, index=False)
    folds = None if fold is None else FOLDS
    module = SequenceDataModule(
        str(path),
        id_column="sid",
        step_column="t",
        split_column="split",
        cache_dir=str(tmp_path / "cache"),
        folds=folds,
        fold=fold,
    )
    module.setup("fit")
    return module


def ids(module: SequenceDataModule, split: str) -> set[str]:
    return set(np.load(module.cache_folder / f"{split}.ids.npy").tolist())


def test_each_member_validates_on_its_own_fold_with_one_shared_preprocessing(tmp_path):
    plain = fold_module(tmp_path, None)
    pool = ids(plain, "train") | ids(plain, "val")
    members = [fold_module(tmp_path, i) for i in range(FOLDS)]
    vals = [ids(m, "val") for m in members]
    assert set().union(*vals) == pool and sum(len(v) for v in vals) == len(pool)  # a partition
    for member, val in zip(members, vals, strict=True):
        assert ids(member, "train") == pool - val
        assert ids(member, "test") == ids(plain, "test")  # test is never dealt out
    spec = [(m.cache_folder / "preprocessor.json").read_text() for m in members]
    assert len(set(spec)) == 1  # fitted on every training sequence: predict needs just one


def compose_cfg(tmp_path, *overrides: str):
    long_frame(n_per_class=20).to_csv(tmp_path / "seq.csv", index=False)
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "data=sequence_csv",
                f"data.path={tmp_path / 'seq.csv'}",
                f"paths.output_dir={tmp_path}",
                *SEQUENCE_COLUMNS,
                *overrides,
            ],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    return cfg


def test_the_rule_counts_training_sequences_and_the_user_decides(tmp_path):
    assert fold_count(compose_cfg(tmp_path)) == (FOLDS, "null: 34 training sequences < 100")
    assert fold_count(compose_cfg(tmp_path, "ensemble.folds=0")) == (0, "ensemble.folds=0")
    assert fold_count(compose_cfg(tmp_path, "ensemble.folds=3")) == (3, "ensemble.folds=3")
    assert fold_count(compose_cfg(tmp_path, "ensemble.size=3"))[0] == 0
    with pytest.raises(ConfigError, match="ensemble.folds=1 is not cross-validation"):
        fold_count(compose_cfg(tmp_path, "ensemble.folds=1"))
    with pytest.raises(ConfigError, match="choose one kind of ensemble"):
        fold_count(compose_cfg(tmp_path, "ensemble.folds=3", "ensemble.size=2"))
    with pytest.raises(ConfigError, match="ensemble.neighbours=true needs a fold ensemble"):
        fold_count(compose_cfg(tmp_path, "ensemble.folds=0", "ensemble.neighbours=true"))
    assert fold_count(compose_cfg(tmp_path, "ensemble.neighbours=true"))[0] == FOLDS


def test_members_keep_their_last_weights_unless_told_to_choose(tmp_path):
    last = fold_config(compose_cfg(tmp_path), 2, FOLDS, tmp_path / "m2")
    assert (last.data.folds, last.data.fold, last.ensemble.folds) == (FOLDS, 2, 0)
    assert last.callbacks.early_stopping is None and last.callbacks.model_checkpoint.monitor is None
    best = fold_config(compose_cfg(tmp_path, "ensemble.keep=best"), 2, FOLDS, tmp_path / "m2")
    assert best.callbacks.model_checkpoint.monitor == best.callbacks.early_stopping.monitor
    assert best.callbacks.model_checkpoint.monitor == "val/loss"
    with pytest.raises(ConfigError, match="ensemble.keep must be last or best, got 'first'"):
        fold_config(compose_cfg(tmp_path, "ensemble.keep=first"), 0, FOLDS, tmp_path / "m0")


def test_text_data_refuses_folds(tmp_path):
    done = run_train(
        "data=text_csv",
        f"data.path={tmp_path / 'x.csv'}",
        f"paths.output_dir={tmp_path}",
        "ensemble.folds=3",
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "only sequence data (data=sequence_csv) can be split into folds" in done.stdout


TINY = ("model.hidden_size=8", "trainer.max_epochs=2", "optimizer.lr=1e-2")


@pytest.mark.slow
def test_a_tiny_set_trains_a_fold_ensemble_that_predict_reads(tmp_path):
    frame = long_frame(n_per_class=20)
    frame.to_csv(tmp_path / "seq.csv", index=False)
    run = trained_run(
        tmp_path / "out",
        "data=sequence_csv",
        f"data.path={tmp_path / 'seq.csv'}",
        *SEQUENCE_COLUMNS,
        *TINY,
    )
    report = json.loads((run / "metrics.json").read_text())
    assert report["ensemble"]["folds"] == FOLDS
    assert report["ensemble"]["reason"] == "null: 34 training sequences < 100"
    near = report["ensemble"]["neighbours"]  # long_frame's lengths vary: no neighbour member
    assert near["reason"].startswith("null: the training sequences differ in length")
    assert "neighbours" not in json.loads((run / "model.json").read_text())["params"]
    assert "cross-validated ensemble of 4 fold members" in (run / "train.log").read_text()
    assert json.loads((run / "model.json").read_text())["kind"] == "ensemble"
    assert json.loads((run / "config.json").read_text())["config"]["ensemble"]["folds"] == FOLDS
    members = [json.loads((run / f"members/{i}/metrics.json").read_text()) for i in range(FOLDS)]
    assert {m["folds"]["reason"] for m in members} == {
        f"member for fold {i} of 4" for i in range(4)
    }
    # the val score is out of fold: within the range of the members' own fold scores
    own = [m["val_at_best"]["val/loss"] for m in members]
    assert min(own) - 1e-6 <= report["metrics"]["val/loss"] <= max(own) + 1e-6

    accuracy = predicted_test_accuracy(run, frame, tmp_path)
    assert accuracy == pytest.approx(report["metrics"]["test/acc"], abs=1e-6)


@pytest.mark.slow
def test_ensemble_folds_0_trains_one_ordinary_run(tmp_path):
    long_frame(n_per_class=20).to_csv(tmp_path / "seq.csv", index=False)
    run = trained_run(
        tmp_path / "out",
        "data=sequence_csv",
        f"data.path={tmp_path / 'seq.csv'}",
        *SEQUENCE_COLUMNS,
        *TINY,
        "ensemble.folds=0",
    )
    report = json.loads((run / "metrics.json").read_text())
    assert report["folds"] == {"folds": 0, "reason": "ensemble.folds=0"}
    assert "ensemble" not in report and not (run / "members").exists()
