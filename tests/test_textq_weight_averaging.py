"""Weight EMA: validation, the best checkpoint and the test score all see the averaged weights."""

from __future__ import annotations

import json
import re

import pytest
import torch
import torch.nn.functional as F
from helpers import make_text_frame, text_run_overrides, trained_run

from lstmkit.callbacks.weight_averaging import WeightEMA, auto_every
from lstmkit.data.text import TextDataModule
from lstmkit.errors import ConfigError
from lstmkit.inference.run import load_checkpoint, load_run


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("ema")
    csv = tmp / "texts.csv"
    make_text_frame().to_csv(csv, index=False)
    out = tmp / "outputs"
    return trained_run(out, *text_run_overrides(csv, out, "callbacks.weight_averaging.decay=0.7"))


def test_the_test_score_is_the_averaged_checkpoints_not_the_live_weights(ema_run):
    """Lightning's own callback reloads the live weights when testing; ours must not."""
    report = json.loads((ema_run / "metrics.json").read_text())
    config = json.loads((ema_run / "config.json").read_text())["config"]["data"]
    data = TextDataModule(
        config["path"],
        cache_dir=config["cache_dir"],
        tokenizer=config["tokenizer"],
        batch_size=config["batch_size"],
    )
    data.setup("fit")
    ckpt = load_checkpoint(ema_run / "checkpoints" / "best.ckpt")
    live = {k.removeprefix("net."): v for k, v in ckpt["current_model_state"].items()}
    averaged = load_run(ema_run).net  # what predict and export read: the checkpoint's state_dict
    assert any(not torch.equal(averaged.state_dict()[k], v) for k, v in live.items())

    def test_loss(net: torch.nn.Module) -> float:
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in data.test_dataloader():
                logits = net(batch["inputs"], batch["lengths"])
                total += float(F.cross_entropy(logits, batch["targets"], reduction="sum"))
                count += len(batch["targets"])
        return total / count

    reported, of_average = report["metrics"]["test/loss"], test_loss(averaged)
    averaged.load_state_dict(live)
    of_live = test_loss(averaged)
    # fp32 here, bf16 autocast in the trainer on CPUs that have it: equal to ~1e-3
    assert abs(reported - of_average) < 2e-3 < abs(reported - of_live), (of_average, of_live)


def test_text_runs_average_by_default_with_a_decay_from_the_epoch_length(ema_run):
    log = (ema_run / "train.log").read_text()
    assert "weight EMA: decay 0.7 (callbacks.weight_averaging.decay)" in log
    config = json.loads((ema_run / "config.json").read_text())["config"]
    assert config["callbacks"]["weight_averaging"]["memory_epochs"] == 1.0  # from conf/data


def test_the_decay_follows_the_epoch_and_bad_values_are_refused():
    assert WeightEMA(decay=0.9).decay == 0.9
    with pytest.raises(ConfigError, match="callbacks.weight_averaging.decay"):
        WeightEMA(decay=1.0)
    with pytest.raises(ConfigError, match="memory_epochs"):
        WeightEMA(memory_epochs=0)
    for bad in (0, 1.5, "often", True):
        with pytest.raises(ConfigError, match="every_n_steps"):
            WeightEMA(every_n_steps=bad)


def test_the_default_decay_remembers_one_epoch_of_steps(text_run):
    found = re.search(
        r"weight EMA: decay ([0-9.]+) \(a memory of 1 epoch\(s\), (\d+) optimiser steps\), "
        r"updated every (\d) step",
        (text_run / "train.log").read_text(),
    )
    assert found, "the decay and its reason are logged"
    assert float(found[1]) == pytest.approx(1 - 1 / int(found[2]), abs=1e-4)
    assert int(found[3]) == auto_every(float(found[1]))
