"""A real `python train.py` run on a small CSV: checkpoint, metrics.json, TensorBoard, cache."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import run_train, tiny_run_overrides
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow


def test_train_writes_run_folder_and_second_run_hits_cache(text_csv, tmp_path):
    out = tmp_path / "outputs"
    first = run_train(*tiny_run_overrides(text_csv, out))
    assert first.returncode == 0, first.stderr[-3000:]
    run = out / "run"
    log = (run / "train.log").read_text()
    assert "preprocessing cache miss" in log

    # checkpoint: best and last, loadable without unpickling arbitrary objects
    for name in ("best.ckpt", "last.ckpt"):
        ckpt = torch.load(run / "checkpoints" / name, weights_only=True)
        assert any(k.startswith("net.") for k in ckpt["state_dict"])

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 2
    assert set(metrics["metrics"]) >= {"test/acc", "test/f1", "test/loss", "val/acc"}
    assert 0.0 <= metrics["metrics"]["test/acc"] <= 1.0
    assert metrics["preprocessing_cache_hit"] is False
    assert (run / "preprocessor" / "tokenizer.json").is_file()
    labels = json.loads((run / "preprocessor" / "preprocessor.json").read_text())["labels"]
    assert labels == ["money", "sport", "tech"]

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"train/loss_step", "val/loss", "val/acc", "val/f1", "test/acc"} <= set(scalars)
    assert len(events.Scalars("val/acc")) == 2  # one per epoch
    assert any(t.startswith("lr-") for t in scalars)

    second = run_train(*tiny_run_overrides(text_csv, out, f"hydra.run.dir={out}/run2"))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "preprocessing cache hit" in (out / "run2" / "train.log").read_text()
    assert (
        json.loads((out / "run2" / "metrics.json").read_text())["preprocessing_cache_hit"] is True
    )
    caches = [p for p in (out / "cache").iterdir()]
    assert len(caches) == 1 and not caches[0].name.startswith(".")


def test_tiny_model_learns_the_synthetic_topics(text_csv, tmp_path):
    out = tmp_path / "outputs"
    done = run_train(
        *tiny_run_overrides(text_csv, out, "trainer.max_epochs=8", "model=gru", "optimizer.lr=1e-2")
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "run" / "metrics.json").read_text())["metrics"]
    assert metrics["test/acc"] >= 0.8
