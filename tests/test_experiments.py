"""`experiment=<dataset>` pins data and model together; `experiment=airline` trains for real."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from helpers import ROOT, run_train
from hydra import compose, initialize_config_dir

EXPERIMENTS = {
    "bbc_news": ("bbc_news", "lstm", "ClassificationTask"),
    "airline": ("airline", "seq2seq", "ForecastingTask"),
    "sunspots": ("sunspots", "seq2seq", "ForecastingTask"),
    "japanese_vowels": ("japanese_vowels", "lstm", "ClassificationTask"),
}


def test_every_builtin_dataset_has_an_experiment():
    builtins = {p.stem for p in (ROOT / "conf" / "data").glob("*.yaml")}
    builtins = {b for b in builtins if not b.endswith("_csv")}
    assert {p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml")} == builtins
    assert set(EXPERIMENTS) == builtins


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_its_data_model_and_task(name):
    data, model, task = EXPERIMENTS[name]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={name}"], return_hydra_config=True)
    choices = cfg.hydra.runtime.choices
    assert (choices.data, choices.model, choices.experiment) == (data, model, name)
    assert cfg.data.builtin == name and cfg.task._target_.endswith(task)


@pytest.mark.slow
def test_experiment_airline_trains(tmp_path):
    out = tmp_path / "outputs"
    done = run_train(
        "experiment=airline",
        f"paths.output_dir={out}",
        f"paths.data_dir={tmp_path / 'data'}",
        f"hydra.run.dir={out}/run",
        "model.hidden_size=8",
        "data.windows_per_epoch=32",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = out / "run"
    assert (tmp_path / "data" / "airline.csv").is_file()  # materialised from sktime
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["global_step"] == 2  # 32 windows in batches of 16
    scores = metrics["metrics"]  # a 3-origin backtest: 1958, 1959, 1960
    assert scores["test/backtest/origin_3/snaive_mape"] == pytest.approx(9.99, abs=0.005)  # 1960
    origins = [scores[f"test/backtest/origin_{k}/snaive_mape"] for k in (1, 2, 3)]
    assert scores["test/snaive_mape"] == pytest.approx(np.mean(origins), rel=1e-5)
    assert scores["test/ets_mape"] < scores["test/snaive_mape"]
    hydra = yaml.safe_load((run / ".hydra" / "hydra.yaml").read_text())["hydra"]
    assert hydra["runtime"]["choices"]["model"] == "seq2seq"
