"""`trainer=ddp trainer.devices=2` from train.py (gloo on CPU): one run folder, synced metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import run_train, tiny_run_overrides, trained_run
from hydra.utils import instantiate

from lstmkit.inference.batching import probabilities
from lstmkit.inference.run import load_run

pytestmark = pytest.mark.slow
EXTRA = (
    "trainer.max_epochs=6",
    "optimizer.lr=1e-2",
    "callbacks.early_stopping=null",
    "callbacks.embedding_projector=null",
)


def rescore_test_split(run_dir) -> tuple[float, float]:
    """Accuracy and mean cross-entropy of the best checkpoint on the whole test split."""
    run = load_run(run_dir)
    dm = instantiate(run.config["data"])
    dm.setup("test")
    test = dm.splits["test"]
    probs = probabilities(run.net, test.inputs)
    picked = probs[np.arange(len(probs)), test.targets]
    return float((probs.argmax(1) == test.targets).mean()), float(-np.log(picked).mean())


def test_two_process_ddp_matches_one_process(text_csv, tmp_path):
    out = tmp_path / "o"
    single = run_train(*tiny_run_overrides(text_csv, out, *EXTRA, f"hydra.run.dir={out}/one"))
    assert single.returncode == 0, single.stderr[-3000:]
    # 2 ranks x batch 8 = the single run's batch of 16 per optimizer step
    ddp = run_train(
        *tiny_run_overrides(
            text_csv,
            out,
            *EXTRA,
            f"hydra.run.dir={out}/ddp",
            "trainer=ddp",
            "trainer.devices=2",
            "trainer.accelerator=cpu",
            "data.batch_size=8",
        )
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]

    assert sorted(p.name for p in out.iterdir()) == ["cache", "ddp", "one"]  # one folder
    one = json.loads((out / "one" / "metrics.json").read_text())
    two = json.loads((out / "ddp" / "metrics.json").read_text())
    # 84 training texts: 6 batches of 16 in one process; 11 of 8 shared by 2 ranks, rounded
    # down to 5 steps each so both ranks step together
    assert (one["global_step"], two["global_step"]) == (6 * 6, 6 * 5)
    # test metrics are synced over both ranks: they equal a one-process rescoring of the
    # very same checkpoint on every test example
    acc, loss = rescore_test_split(out / "ddp")  # 24 test texts: 12 per rank
    assert two["metrics"]["test/acc"] == pytest.approx(acc, abs=1e-6)
    assert two["metrics"]["test/loss"] == pytest.approx(loss, rel=1e-4)
    for run in (one, two):
        assert run["metrics"]["test/acc"] >= 0.8, run["metrics"]
    assert abs(one["metrics"]["test/acc"] - two["metrics"]["test/acc"]) <= 0.15
    print("1 process:", one["metrics"], "\n2 processes:", two["metrics"])
    assert np.isfinite(two["metrics"]["val/loss"])


def test_two_process_forecasting_ranks_share_the_training_windows(tmp_path):
    """64 windows a epoch in batches of 16: 4 steps in one process, 2 on each of 2 ranks."""
    out = tmp_path / "o"
    run = trained_run(
        out,
        "experiment=airline",
        f"paths.data_dir={tmp_path / 'data'}",
        "trainer=ddp",
        "trainer.devices=2",
        "trainer.accelerator=cpu",
        "model.hidden_size=8",
        "model.quantiles=[0.1,0.5,0.9]",  # conformal widening gathers val windows from both
        "data.windows_per_epoch=64",
        "trainer.max_epochs=1",
    )
    report = json.loads((run / "metrics.json").read_text())
    assert 0 <= report["metrics"]["test/coverage_80"] <= 1
    assert report["global_step"] == 2  # each rank drew its own 32 windows, not all 64
    # rank 0 scores test origins 1 and 3, rank 1 origin 2: the metric sums are added across
    # ranks, so the baselines (the same on every rank) equal one process's exactly
    scores = report["metrics"]
    assert scores["test/backtest/origin_3/snaive_mape"] == pytest.approx(9.99, abs=0.005)
    assert scores["test/snaive_mape"] == pytest.approx(8.0602, abs=1e-3)
    assert scores["test/ets_mape"] == pytest.approx(3.8929, abs=1e-3)
