"""The cluster and parallel launchers, exercised for real: submitit's local executor (the SLURM
launcher's machinery without SLURM) and joblib with 2 worker processes."""

from __future__ import annotations

import json
import re
from datetime import datetime

import optuna
import pandas as pd
import pytest
from helpers import run_train, tiny_run_overrides

pytestmark = pytest.mark.slow
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]", re.MULTILINE)


def grid(csv, out, sweep, *extra: str) -> list[str]:
    """4 jobs: hidden_size 8 (jobs 0, 1) and 0 (jobs 2, 3: fail the config check)."""
    base = [o for o in tiny_run_overrides(csv, out) if "hidden_size" not in o]
    return [
        "-m",
        *base,
        f"hydra.sweep.dir={sweep}",
        "trainer.max_epochs=1",
        "callbacks.embedding_projector=null",
        "model.hidden_size=8,0",
        "optimizer.lr=1e-3,1e-2",
        *extra,
    ]


def check_grid(sweep, done) -> pd.DataFrame:
    """What the basic launcher gives: job folders, a summary with 2 ok and 2 failed rows."""
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir() and p.name.isdigit()) == [
        "0",
        "1",
        "2",
        "3",
    ]
    table = pd.read_csv(sweep / "summary.csv").set_index("job")
    assert list(table.loc[[0, 1, 2, 3], "status"]) == ["ok", "ok", "failed", "failed"]
    assert table.loc[[2, 3], "error"].str.contains("hidden_size").all()
    for job in (0, 1):
        report = json.loads((sweep / str(job) / "metrics.json").read_text())
        assert table.loc[job, "best_val"] == pytest.approx(report["objective"]["value"])
        assert table.loc[job, "test"] == pytest.approx(report["metrics"]["test/acc"])
    assert "sweep summary" in done.stdout
    return table


def span(job) -> tuple[datetime, datetime]:
    """First and last log time of a job (Hydra's log lines start with [YYYY-mm-dd HH:MM:SS,ms])."""
    stamps = STAMP.findall((job / "train.log").read_text())
    times = [datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in stamps]
    return min(times), max(times)


def test_submitit_local_runs_each_job_as_its_own_process(text_csv, tmp_path):
    out, sweep = tmp_path / "outputs", tmp_path / "sweep"
    done = run_train(*grid(text_csv, out, sweep, "hydra/launcher=submitit_local"), timeout=600)
    check_grid(sweep, done)
    # submitit's local job id is the job process's pid: one folder (logs, pickled result) each
    jobs = [p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]
    assert len(jobs) == 4 and all(list(p.glob("*_result.pkl")) for p in jobs)


def test_optuna_trials_through_submitit_local_find_their_trial(text_csv, tmp_path):
    """A job in another process reports to (and is pruned in) the study by its trial number."""
    out, sweep = tmp_path / "outputs", tmp_path / "sweep"
    base = [o for o in tiny_run_overrides(text_csv, out) if "hidden_size" not in o]
    done = run_train(
        "-m",
        *base,
        f"hydra.sweep.dir={sweep}",
        "hparams_search=optuna",
        "hydra/launcher=submitit_local",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_jobs=3",
        "model.hidden_size=choice(8,0)",
        "model.num_layers=1",
        "model.dropout=0.0",
        "callbacks.embedding_projector=null",
        # prune every trial after its first epoch, unless it failed before training
        "hydra.sweeper.pruner._target_=optuna.pruners.ThresholdPruner",
        "~hydra.sweeper.pruner.n_startup_trials",
        "+hydra.sweeper.pruner.lower=2.0",
        "hydra.sweeper.pruner.n_warmup_steps=0",
        timeout=600,
    )
    study = optuna.load_study(study_name="lstmkit", storage=f"sqlite:///{sweep / 'optuna.db'}")
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in trials] == [0, 1, 2]
    for trial in trials:
        expected = "FAIL" if trial.params["model.hidden_size"] == 0 else "PRUNED"
        assert trial.state.name == expected, (done.stdout + done.stderr)[-3000:]
        assert (0 in trial.intermediate_values) == (expected == "PRUNED")  # reported epoch 0
    # every trial failed or was pruned: the sweep says so and exits 1, summary written
    assert done.returncode == 1 and "no job of the sweep finished" in done.stderr
    table = pd.read_csv(sweep / "summary.csv").set_index("job")
    assert {table.loc[t.number, "status"] for t in trials} <= {"failed", "pruned"}
    assert len([p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]) == 3


def test_joblib_runs_two_jobs_at_once_sharing_one_cache_entry(text_csv, tmp_path):
    out, sweep = tmp_path / "outputs", tmp_path / "sweep"
    done = run_train(*grid(text_csv, out, sweep, "hydra/launcher=local_parallel"), timeout=600)
    check_grid(sweep, done)
    assert "Joblib.Parallel(n_jobs=2" in done.stdout + done.stderr
    (start0, end0), (start1, end1) = span(sweep / "0"), span(sweep / "1")
    assert start0 < end1 and start1 < end0  # jobs 0 and 1 ran at the same time
    # both encoded the same data at once: the first writer's entry is the one cache folder,
    # the loser's copy is gone, and nothing half-written is left
    entries = list((out / "cache").iterdir())
    assert len(entries) == 1 and entries[0].is_dir() and not entries[0].name.startswith(".")
    logs = [(sweep / str(i) / "train.log").read_text() for i in (0, 1)]
    assert all("preprocessing cache" in text for text in logs)
