"""A real `python train.py` run on a small CSV: checkpoint, metrics.json, TensorBoard, cache."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import TEXT_RUN_EPOCHS, run_train, text_run_overrides, tiny_run_overrides
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow


def test_train_writes_run_folder_and_second_run_hits_cache(text_run, tmp_path):
    log = (text_run / "train.log").read_text()
    assert "preprocessing cache miss" in log

    # checkpoint: best and last, loadable without unpickling arbitrary objects
    for name in ("best.ckpt", "last.ckpt"):
        ckpt = torch.load(text_run / "checkpoints" / name, weights_only=True)
        assert any(k.startswith("net.") for k in ckpt["state_dict"])

    metrics = json.loads((text_run / "metrics.json").read_text())
    assert metrics["epochs"] == TEXT_RUN_EPOCHS
    assert set(metrics["metrics"]) >= {"test/acc", "test/f1", "test/loss", "val/acc"}
    assert metrics["metrics"]["test/acc"] >= 0.8  # the topics are learnable in a few steps
    assert metrics["preprocessing_cache_hit"] is False
    assert (text_run / "preprocessor" / "tokenizer.json").is_file()
    labels = json.loads((text_run / "preprocessor" / "preprocessor.json").read_text())["labels"]
    assert labels == ["money", "sport", "tech"]

    events = EventAccumulator(str(text_run / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"train/loss_step", "val/loss", "val/acc", "val/f1", "test/acc"} <= set(scalars)
    assert len(events.Scalars("val/acc")) == TEXT_RUN_EPOCHS  # one per epoch
    assert any(t.startswith("lr-") for t in scalars)

    # the same data config again, reading the first run's cache from another output folder
    cache = text_run.parent / "cache"
    out = tmp_path / "o"
    csv = text_run.parent.parent / "texts.csv"
    second = run_train(*text_run_overrides(csv, out, f"paths.cache_dir={cache}"))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "preprocessing cache hit" in (out / "run" / "train.log").read_text()
    assert json.loads((out / "run" / "metrics.json").read_text())["preprocessing_cache_hit"]
    caches = list(cache.iterdir())
    assert len(caches) == 1 and not caches[0].name.startswith(".")
    assert not (out / "cache").exists()


def test_tiny_gru_learns_the_synthetic_topics(text_csv, tmp_path):
    out = tmp_path / "outputs"
    done = run_train(
        *tiny_run_overrides(text_csv, out, "trainer.max_epochs=8", "model=gru", "optimizer.lr=1e-2")
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "run" / "metrics.json").read_text())["metrics"]
    assert metrics["test/acc"] >= 0.8
