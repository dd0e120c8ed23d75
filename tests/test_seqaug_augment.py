"""Train-only augmentation of small sequence sets: on by rule, logged, saved, never in predict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import SEQUENCE_COLUMNS, long_frame, predicted_test_accuracy, trained_run

from lstmkit.data.augment import SMALL, Augment, augment_for
from lstmkit.data.sequences import SequenceDataModule
from lstmkit.errors import ConfigError


def module(tmp_path, **kw) -> SequenceDataModule:
    path = tmp_path / "seq.csv"
    long_frame(n_per_class=20).to_csv(path, index=False)
    kw = {"id_column": "sid", "step_column": "t", "split_column": "split"} | kw
    return SequenceDataModule(str(path), cache_dir=str(tmp_path / "cache"), batch_size=64, **kw)


def whole(data) -> dict:
    """A dataset's items as one batch, in order."""
    return data.__getitems__(list(range(len(data))))


def test_the_rule_follows_the_training_set_size():
    assert augment_for(None, SMALL - 1)[0] == Augment()
    off, why = augment_for(None, SMALL)
    assert off is None and why == f"null: {SMALL} training sequences >= {SMALL}"
    assert augment_for(False, 10)[0] is None and augment_for(True, 10**6)[0] == Augment()
    with pytest.raises(ConfigError, match="data.augment must be true, false or null"):
        augment_for("yes", 10)


def test_training_batches_get_gain_and_noise_and_the_rest_stay_as_read(tmp_path):
    dm = module(tmp_path)
    dm.setup()
    spec = json.loads((dm.cache_folder / "preprocessor.json").read_text())
    assert spec["augment"] == {"jitter": 0.05, "scale": 0.1}
    raw, served = whole(dm.splits["train"]), dm.train_dataloader().dataset
    seen = whole(served)
    x, y = raw["inputs"].numpy(), seen["inputs"].numpy()
    valid = np.arange(x.shape[1])[None, :] < raw["lengths"].numpy()[:, None]
    assert np.all(y[~valid] == 0)  # padding stays padding
    # per series: y = gain * x + noise; the fitted gains spread by ~0.1, the residual by ~0.05
    gains, residuals = [], []
    for i in range(len(x)):
        a, b = x[i][valid[i]].ravel(), y[i][valid[i]].ravel()
        g = a @ b / (a @ a)
        gains.append(g)
        residuals.append(b - g * a)
    assert 0.05 < np.std(gains) < 0.2 and 0.03 < np.std(np.concatenate(residuals)) < 0.07
    assert not np.allclose(whole(served)["inputs"], y)  # a new variant on every draw
    np.testing.assert_array_equal(whole(dm.train_dataloader().dataset)["inputs"], y)  # seeded
    test = whole(dm.splits["test"])["inputs"]
    np.testing.assert_array_equal(whole(dm.test_dataloader().dataset)["inputs"], test)

    off = module(tmp_path, augment=False)
    off.setup()
    assert not off.cache_hit  # its own cache entry: the setting is part of the key
    assert json.loads((off.cache_folder / "preprocessor.json").read_text())["augment"] is None
    np.testing.assert_array_equal(whole(off.train_dataloader().dataset)["inputs"], x)


@pytest.mark.slow
def test_an_augmented_run_logs_it_and_predict_matches_its_test_score(tmp_path):
    frame = long_frame(n_per_class=20)
    frame.to_csv(tmp_path / "seq.csv", index=False)
    run = trained_run(
        tmp_path / "out",
        "data=sequence_csv",
        f"data.path={tmp_path / 'seq.csv'}",
        *SEQUENCE_COLUMNS,
        "model.hidden_size=8",
        "trainer.max_epochs=4",
        "optimizer.lr=1e-2",
    )
    log = (run / "train.log").read_text()
    assert "augment {'jitter': 0.05, 'scale': 0.1} (null: 30 training sequences < 100)" in log
    spec = json.loads((run / "preprocessor" / "preprocessor.json").read_text())
    assert spec["augment"] == {"jitter": 0.05, "scale": 0.1}

    accuracy = predicted_test_accuracy(run, frame, tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert accuracy == pytest.approx(metrics["metrics"]["test/acc"], abs=1e-6)
