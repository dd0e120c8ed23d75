"""Several sweep processes on one Optuna study: journal file and SQLite, real tiny sweeps."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
from helpers import ROOT, run_script, tiny_run_overrides

from lstmkit.sweeps.storage import create_or_load_study, load_study, storage_url

STATUS = {"COMPLETE": "ok", "PRUNED": "pruned", "FAIL": "failed"}


def sweep_process(csv, out, sweep_dir, *extra: str) -> subprocess.Popen:
    """`train.py -m hparams_search=optuna` on a tiny search space, started in the background."""
    space = [
        "hparams_search=optuna",
        "model.hidden_size=choice(0,8)",  # 0 fails the config check: a FAIL trial, quickly
        "model.num_layers=1",
        "model.dropout=0.0",  # a fixed value on the command line wins over the search space
        "hydra.sweeper.n_startup_trials=10",
        "trainer.max_epochs=1",
        "callbacks.embedding_projector=null",
    ]
    base = [o for o in tiny_run_overrides(csv, out) if "hidden_size" not in o]
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, str(ROOT / "train.py"), "-m", *base, *space]
    command += [f"hydra.sweep.dir={sweep_dir}", *extra]
    sweep_dir.parent.mkdir(parents=True, exist_ok=True)
    with (sweep_dir.parent / f"{sweep_dir.name}.{time.monotonic_ns()}.log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.args = log.name  # where its output goes, for the failure message
    return process


def finish(processes: list[subprocess.Popen], timeout: float = 400) -> None:
    deadline = time.monotonic() + timeout
    try:
        for p in processes:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p in processes:
        with open(p.args) as log:
            assert p.returncode == 0, log.read()[-3000:]


def check_study(study: optuna.Study, n_trials: int) -> list[optuna.trial.FrozenTrial]:
    """Exactly n_trials, numbered 0..n-1, each finished once, pulled by both processes."""
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in trials] == list(range(n_trials))
    assert all(t.state.name in STATUS for t in trials), [t.state for t in trials]
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2, workers  # both processes pulled trials from the one study
    folders = [t.user_attrs["folder"] for t in trials]
    assert len(set(folders)) == n_trials  # no job folder shared, no trial run twice
    for trial in trials:  # a FAIL trial is the hidden_size=0 one, nothing else
        assert (trial.state.name == "FAIL") == (trial.params["model.hidden_size"] == 0)
    return trials


@pytest.mark.slow
def test_two_sweep_processes_share_a_journal_study_from_different_folders(text_csv, tmp_path):
    """Like two machines: separate sweep folders, one journal file both can reach."""
    out, n_trials = tmp_path / "outputs", 5
    journal = tmp_path / "shared" / "study.journal"
    shared = (f"hydra.sweeper.storage=journal:{journal}", f"hydra.sweeper.n_trials={n_trials}")
    runs = [sweep_process(text_csv, out, tmp_path / name, *shared) for name in ("a", "b")]
    finish(runs)

    study = load_study(storage_url(f"journal:{journal}", "."), "lstmkit")
    trials = check_study(study, n_trials)
    by_folder = {t.number: t.user_attrs["folder"] for t in trials}
    assert {str(tmp_path / "a"), str(tmp_path / "b")} == {
        os.path.dirname(f) for f in by_folder.values()
    }  # each process's jobs in its own sweep folder, named by trial number
    assert all(os.path.basename(f) == str(n) for n, f in by_folder.items())

    # the summary from the study alone covers the jobs of both folders
    done = run_script("scripts/summarize_sweep.py", "--study", f"journal:{journal}")
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(journal.parent / "summary.csv").set_index("job")
    assert sorted(table.index) == list(range(n_trials))
    for trial in trials:
        row = table.loc[trial.number]
        assert row["status"] == STATUS[trial.state.name]
        assert row["folder"] == by_folder[trial.number]
        if trial.state.name == "COMPLETE":
            assert row["best_val"] == pytest.approx(trial.value)
            assert 0 <= row["test"] <= 1  # read from that job's own metrics.json
    assert table["worker"].nunique() == 2
    assert (journal.parent / "optuna_history.png").is_file()


@pytest.mark.slow
def test_two_sweep_processes_share_a_new_sqlite_study_in_one_folder(text_csv, tmp_path):
    """Both start on a new SQLite file (the schema race), in one sweep folder (the default)."""
    out, sweep, n_trials = tmp_path / "outputs", tmp_path / "sweep", 4
    runs = [sweep_process(text_csv, out, sweep, f"hydra.sweeper.n_trials={n_trials}")]
    runs.append(sweep_process(text_csv, out, sweep, f"hydra.sweeper.n_trials={n_trials}"))
    finish(runs)
    study = load_study(f"sqlite:///{sweep / 'optuna.db'}", "lstmkit")
    check_study(study, n_trials)
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == [str(n) for n in range(4)]
    # whichever process ended last wrote the summary: rows from the study, one per trial
    table = pd.read_csv(sweep / "summary.csv")
    assert sorted(table["job"]) == list(range(n_trials)) and table["worker"].nunique() == 2


CREATE = """
import sys, time
from lstmkit.sweeps.storage import create_or_load_study
start = float(sys.argv[2])
while time.time() < start:
    pass
create_or_load_study(sys.argv[1], "race", direction="maximize")
"""


def test_processes_creating_one_new_sqlite_study_at_once_all_succeed(tmp_path):
    """Without the retry one of them dies in SQLAlchemy ('table studies already exists')."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    start = str(time.time() + 3)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    command = [sys.executable, "-c", CREATE, url, start]
    racers = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE) for _ in range(3)]
    for racer in racers:
        _, err = racer.communicate(timeout=60)
        assert racer.returncode == 0, err.decode()[-2000:]
    assert len(optuna.get_all_study_names(url)) == 1
    assert create_or_load_study(url, "race").study_name == "race"


def test_joining_a_study_fails_only_the_trials_of_stopped_sweep_processes(tmp_path):
    """A RUNNING trial whose sweep process is gone is FAIL; a live one's, or another host's,
    keeps running (it may belong to a process sharing the study)."""
    from hydra_plugins.lstmkit_optuna_sweeper._impl import OptunaSearch

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = create_or_load_study(url, "lstmkit", direction="maximize")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    owners = [f"{socket.gethostname()}:{gone.pid}", f"{socket.gethostname()}:{os.getpid()}"]
    owners += ["elsewhere:1", None]  # another machine; a trial from before owners were kept
    for owner in owners:
        trial = study.ask()
        if owner:
            trial.set_user_attr("worker", owner)
    OptunaSearch(storage=url).open_study(tmp_path)
    states = [t.state.name for t in load_study(url, "lstmkit").trials]
    assert states == ["FAIL", "RUNNING", "RUNNING", "FAIL"]


def test_summary_from_a_missing_study_names_what_is_wrong(tmp_path):
    missing = run_script("scripts/summarize_sweep.py", "--study", f"journal:{tmp_path / 'x'}")
    assert missing.returncode == 2 and f"no such study file {tmp_path / 'x'}" in missing.stderr
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    create_or_load_study(url, "other")
    wrong = run_script("scripts/summarize_sweep.py", "--study", url)
    assert wrong.returncode == 2
    assert "no study named 'lstmkit'; its studies: other (--study-name)" in wrong.stderr


def test_a_sweep_process_ending_while_others_still_run_does_not_fail(tmp_path, capsys):
    """Its own trials failed, another process's trial still runs: no 'no job finished' exit."""
    from omegaconf import OmegaConf

    from lstmkit.sweeps.hydra_callback import SweepSummary

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = create_or_load_study(url, "lstmkit", direction="maximize")
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    study.ask().set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    sweeper = {"_target_": "x.LstmkitOptunaSweeper", "storage": url, "study_name": "lstmkit"}
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, "sweeper": sweeper}})
    OmegaConf.save(config, tmp_path / "multirun.yaml")
    SweepSummary().on_multirun_end(config)  # no SystemExit
    assert "1 trials still running in other sweep processes" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "summary.csv")
    assert sorted(table["status"]) == ["failed", "running"]

    study.tell(1, state=optuna.trial.TrialState.FAIL)  # now every trial failed: exit 1
    with pytest.raises(SystemExit):
        SweepSummary().on_multirun_end(config)
