"""The cluster and parallel launchers, exercised for real: submitit's local executor (the SLURM
launcher's machinery without SLURM) and joblib with 2 worker processes."""

from __future__ import annotations

import json
import re
from datetime import datetime

import optuna
import pandas as pd
import pytest
from helpers import run_train, tiny_run_overrides, train_together

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


def test_optuna_trials_run_as_submitit_local_jobs_in_their_own_processes(text_csv, tmp_path):
    """The SLURM launcher's machinery (submitit) on this machine: each trial a process that
    finds its trial in the study by number and reports every epoch there; results, failures
    and the summary as with the basic launcher."""
    out, sweep = tmp_path / "outputs", tmp_path / "sweep"
    base = [o for o in tiny_run_overrides(text_csv, out) if "hidden_size" not in o]
    done = run_train(
        "-m",
        *base,
        f"hydra.sweep.dir={sweep}",
        "hparams_search=optuna",
        "hydra/launcher=submitit_local",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",  # two job processes at once
        "hydra.sweeper.seed=1",  # draws hidden_size 8 for trial 0, 0 for trial 1
        "model.hidden_size=choice(8,0)",  # 0 fails the config check
        "model.num_layers=1",
        "model.dropout=0.0",
        "callbacks.embedding_projector=null",
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    study = optuna.load_study(study_name="lstmkit", storage=f"sqlite:///{sweep / 'optuna.db'}")
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in trials] == [0, 1]
    assert {t.params["model.hidden_size"] for t in trials} == {0, 8}  # seeded: both kinds
    table = pd.read_csv(sweep / "summary.csv").set_index("job")
    for trial in trials:
        row = table.loc[trial.number]
        if trial.params["model.hidden_size"] == 0:
            assert trial.state.name == "FAIL" and row["status"] == "failed"
            assert "hidden_size" in row["error"]
        else:  # the job process reported each epoch's val metric to its own trial
            assert trial.state.name == "COMPLETE" and row["status"] == "ok"
            assert set(trial.intermediate_values) == {0, 1}
            assert row["best_val"] == pytest.approx(trial.value)
            report = json.loads((sweep / str(trial.number) / "metrics.json").read_text())
            assert trial.value == pytest.approx(report["objective"]["value"])
    assert "sweep summary" in done.stdout
    # submitit's local job id is the job process's pid: one folder (logs, pickled result) each
    jobs = [p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]
    assert len(jobs) == 2 and all(list(p.glob("*_result.pkl")) for p in jobs)


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


def test_two_joblib_sweeps_started_together_keep_their_jobs_in_their_own_folders(
    text_csv, tmp_path
):
    """Both sweeps name the same folder (as two started in the same second do with the default
    `${now:...}` name): each gets its own, and its jobs, run in joblib's worker processes,
    write into it rather than reserving new ones there."""
    out = tmp_path / "outputs"
    same = "hydra.sweep.dir=${lstmkit.new_dir:" + str(tmp_path / "multirun" / "same") + "}"
    base = [o for o in tiny_run_overrides(text_csv, out) if "hidden_size" not in o]
    args = [*base, same, "hydra/launcher=local_parallel", "trainer.max_epochs=1"]
    args += ["callbacks.embedding_projector=null", "model.hidden_size=8,16"]
    train_together("-m", *args, timeout=600)
    folders = sorted((tmp_path / "multirun").iterdir())
    assert [f.name for f in folders] == ["same", "same_1"]
    seeds = set()
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["0", "1"]
        configs = [json.loads((folder / j / "config.json").read_text())["config"] for j in "01"]
        assert [c["paths"]["run_dir"] for c in configs] == [str(folder / "0"), str(folder / "1")]
        assert sorted(c["model"]["hidden_size"] for c in configs) == [8, 16]
        seeds |= {c["seed"] for c in configs}
        table = pd.read_csv(folder / "summary.csv")
        assert list(table["status"]) == ["ok", "ok"]
    assert seeds == {1, 2}
