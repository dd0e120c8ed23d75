"""Real multiruns on a tiny CSV: grid + summary, Optuna with resume and pruning, failed jobs."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import lightning as L
import optuna
import pandas as pd
import pytest
import torch
from helpers import ROOT, run_train, tiny_run_overrides
from hydra.core.utils import JobReturn, JobStatus
from torch import nn

from hydra_plugins.lstmkit_optuna_sweeper._impl import OptunaSearch
from lstmkit.callbacks.best_metric import BestMetric
from lstmkit.callbacks.finite_loss import FiniteLoss, TrainingDiverged


def sweep_overrides(csv, out, sweep_dir, *extra: str) -> list[str]:
    """tiny_run_overrides with the keys in `extra` replaced (Hydra rejects a key given twice)."""
    keys = {e.split("=", 1)[0] for e in extra}
    base = [o for o in tiny_run_overrides(csv, out) if o.split("=", 1)[0] not in keys]
    return ["-m", *base, f"hydra.sweep.dir={sweep_dir}", *extra]


@pytest.mark.slow
def test_grid_sweep_summary_cache_and_failed_jobs(text_csv, tmp_path):
    out, sweep = tmp_path / "outputs", tmp_path / "outputs" / "multirun" / "grid"
    # hidden_size=0 makes two of the four jobs fail the config check, before any work
    done = run_train(
        *sweep_overrides(
            text_csv,
            out,
            sweep,
            "trainer.max_epochs=1",
            "model.hidden_size=16,0",
            "optimizer.lr=1e-3,1e-2",
        )
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2", "3"]

    table = pd.read_csv(sweep / "summary.csv")
    assert len(table) == 4
    assert sorted(table["status"]) == ["failed", "failed", "ok", "ok"]
    failed = table[table["status"] == "failed"]
    assert failed["error"].str.contains("hidden_size").all()
    assert set(failed["overrides"]) == {
        "model.hidden_size=0,optimizer.lr=0.001",
        "model.hidden_size=0,optimizer.lr=0.01",
    }
    ok = table[table["status"] == "ok"]
    assert table.iloc[0]["best"] and table.iloc[0]["status"] == "ok"  # sorted: best first
    assert table.iloc[0]["best_val"] == ok["best_val"].max()
    assert ok["test_metric"].eq("test/acc").all() and ok["test"].between(0, 1).all()
    assert ok["test/f1"].between(0, 1).all() and ok["epochs"].eq(1).all()  # headline columns
    assert not (sweep / "optuna_history.png").exists()  # a grid has no study
    assert (sweep / "summary.png").stat().st_size > 1000
    assert "**best**" in (sweep / "summary.md").read_text()
    assert "sweep summary" in done.stdout and "best run: " in done.stdout

    # the table holds what each job wrote: its objective (val/acc) and its test accuracy
    for row in ok.itertuples():
        job = json.loads((sweep / str(row.job) / "metrics.json").read_text())
        assert job["status"] == "ok" and job["objective"]["metric"] == "val/acc"
        assert row.best_val == pytest.approx(job["objective"]["value"])
        assert row.test == pytest.approx(job["metrics"]["test/acc"])
    assert json.loads((sweep / "2" / "metrics.json").read_text())["status"] == "failed"

    # encoded once: job 0 misses the cache, the other ok job hits it; the failed jobs (2, 3)
    # stopped at the config check and read no data
    logs = [(sweep / str(i) / "train.log").read_text() for i in range(4)]
    assert "preprocessing cache miss" in logs[0] and "preprocessing cache hit" in logs[1]
    assert not any("preprocessing cache" in logs[i] for i in (2, 3))
    assert json.loads((sweep / "1" / "metrics.json").read_text())["preprocessing_cache_hit"]

    # each job's TensorBoard run is named by its swept overrides
    assert (sweep / "1" / "tensorboard" / "model.hidden_size=16,optimizer.lr=0.01").is_dir()

    # on demand, for any multirun folder
    again = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "summarize_sweep.py"), str(sweep)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("| ok |") == 2 and again.stdout.count("| failed |") == 2


@pytest.mark.slow
def test_optuna_search_resumes_the_same_study_and_prunes(text_csv, tmp_path):
    out, sweep = tmp_path / "outputs", tmp_path / "outputs" / "multirun" / "optuna"
    space = ["hparams_search=optuna", "model.hidden_size=choice(8,16)", "model.num_layers=1"]
    first = run_train(
        *sweep_overrides(
            text_csv, out, sweep, *space, "hydra.sweeper.n_trials=3", "data.batch_size=16"
        )
    )
    assert first.returncode == 0, first.stderr[-3000:]
    study = optuna.load_study(study_name="lstmkit", storage=f"sqlite:///{sweep / 'optuna.db'}")
    trials = study.trials
    assert len(trials) == 3 and all(t.state.is_finished() for t in trials)
    assert trials[0].state == optuna.trial.TrialState.COMPLETE
    assert trials[0].intermediate_values.keys() == {0, 1}  # reported every epoch (pruning)
    lrs = {t.params["optimizer.lr"] for t in trials}
    assert len(lrs) == 3 and all(1e-4 <= lr <= 1e-2 for lr in lrs)
    for view in ("history", "importances", "parallel", "slice"):  # Optuna's own views
        assert (sweep / f"optuna_{view}.png").stat().st_size > 5000
    assert "optuna views: " in first.stdout

    # resume the same folder: a pruner that prunes everything at the first epoch
    prune_all = [
        "hydra.sweeper.pruner._target_=optuna.pruners.ThresholdPruner",
        "~hydra.sweeper.pruner.n_startup_trials",
        "+hydra.sweeper.pruner.lower=2.0",
        "hydra.sweeper.pruner.n_warmup_steps=0",
    ]
    second = run_train(
        *sweep_overrides(
            text_csv,
            out,
            sweep,
            *space,
            *prune_all,
            "hydra.sweeper.n_trials=4",
            "data.batch_size=16",
        )
    )
    assert second.returncode == 0, second.stderr[-3000:]
    trials = optuna.load_study(
        study_name="lstmkit", storage=f"sqlite:///{sweep / 'optuna.db'}"
    ).trials
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert trials[0].params == study.trials[0].params  # same study, earlier trials kept
    assert trials[3].state == optuna.trial.TrialState.PRUNED
    assert trials[3].params["optimizer.lr"] not in lrs  # the resumed sampler does not replay

    table = pd.read_csv(sweep / "summary.csv")
    assert len(table) == 4
    pruned = table.set_index("job").loc[3]
    assert pruned["status"] == "pruned" and "pruned at epoch 0" in pruned["error"]
    assert table.iloc[0]["best"] and table.iloc[0]["job"] in (0, 1, 2)


def test_sweeper_records_failed_and_nan_trials_and_goes_on():
    """A job that raised (FAILED) or returned NaN becomes a FAIL trial; a number completes."""
    search = OptunaSearch(direction="max", n_trials=3)
    study = optuna.create_study(direction="maximize")
    space = {"x": optuna.distributions.FloatDistribution(0, 1)}
    outcomes = [
        JobReturn(status=JobStatus.FAILED, _return_value=ValueError("boom")),
        JobReturn(status=JobStatus.COMPLETED, _return_value=float("nan")),
        JobReturn(status=JobStatus.COMPLETED, _return_value=0.5),
    ]
    for outcome in outcomes:
        search.tell(study, study.ask(space), outcome)
    states = [t.state.name for t in study.trials]
    assert states == ["FAIL", "FAIL", "COMPLETE"]
    assert study.trials[0].user_attrs["error"] == "ValueError: boom"
    assert study.best_value == 0.5


class Tiny(L.LightningModule):
    """A linear model whose loss turns NaN at step `nan_at`; logs val/score = mean batch index."""

    def __init__(self, nan_at: int | None = None) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.nan_at = nan_at

    def training_step(self, batch, batch_idx):
        loss = self.layer(batch[0]).pow(2).mean()
        return loss * float("nan") if batch_idx == self.nan_at else loss

    def validation_step(self, batch, batch_idx):
        self.log("val/score", float(batch_idx))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.ones(8, 2)), batch_size=2
        )

    val_dataloader = train_dataloader


def bare_trainer(tmp_path, callback: L.Callback, **options) -> L.Trainer:
    """A trainer (one epoch unless `options` say) with nothing but `callback`: no logger,
    checkpoints or bars."""
    options = {"max_epochs": 1} | options
    return L.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[callback],
        default_root_dir=tmp_path,
        **options,
    )


def test_nan_loss_stops_training_with_a_clear_error(tmp_path):
    trainer = bare_trainer(tmp_path, FiniteLoss())
    with pytest.raises(TrainingDiverged, match="training loss became nan at epoch 0, step 2"):
        trainer.fit(Tiny(nan_at=1))


def test_best_metric_tracks_the_best_epoch_and_rejects_unknown_metrics(tmp_path):
    trainer = bare_trainer(
        tmp_path,
        BestMetric("val/score", "min"),
        max_epochs=2,
        limit_train_batches=1,
        num_sanity_val_steps=0,
    )
    module = Tiny()
    trainer.fit(module)
    tracker = next(c for c in trainer.callbacks if isinstance(c, BestMetric))
    report = tracker.report({})
    assert report["value"] == pytest.approx(1.5) and report["mode"] == "min"  # mean of 0..3

    from lstmkit.errors import ConfigError

    wrong = bare_trainer(
        tmp_path, BestMetric("val/mape", "min"), limit_train_batches=1, num_sanity_val_steps=0
    )
    with pytest.raises(ConfigError, match="objective.metric 'val/mape' is not logged"):
        wrong.fit(module)
    assert math.isnan(BestMetric("val/x").report({})["value"])


def test_ddp_ranks_of_a_sweep_job_rerun_that_job_only(tmp_path):
    """Lightning's rank command, swapped in sweeps: the job's own overrides and folder, no -m."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from lstmkit.sweeps.ddp import job_subprocess_cmd

    job = ["trainer=ddp", "model.hidden_size=64", "optimizer.lr=0.003"]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=job, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(tmp_path / "multirun" / "3")
        cfg.hydra.runtime.cwd = str(tmp_path)
    HydraConfig.instance().set_config(cfg)
    command, cwd = job_subprocess_cmd(1)
    assert command[-6:-3] == job and "--multirun" not in command and "-m" not in command[-6:]
    assert f"hydra.run.dir={tmp_path / 'multirun' / '3'}" in command
    assert "hydra.output_subdir=null" in command and cwd == str(tmp_path)


def test_hparams_search_configs_set_sweeper_space_and_objective(tmp_path):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["data=airline", "model=seq2seq", "hparams_search=optuna_forecast"],
            return_hydra_config=True,
        )
    assert (cfg.objective.metric, cfg.objective.mode) == ("val/mape", "min")
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("LstmkitOptunaSweeper") and sweeper.direction == "min"
    assert set(sweeper.params) == {
        "model.hidden_size",
        "model.num_layers",
        "model.dropout",
        "optimizer.lr",
        "data.batch_size",
    }
    assert cfg.callbacks.optuna_pruning.monitor == "val/mape"
