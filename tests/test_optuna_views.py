"""Optuna's views of a real tiny study as PNG files, and optuna-dashboard serving its storage."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from lstmkit.sweeps.optuna_views import write_views


def make_study(storage: str, n_trials: int) -> optuna.Study:
    """A real study on SQLite: two parameters, a bowl with its floor at x=1, layers=2."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name="tiny", storage=storage, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(
        lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2 + abs(t.suggest_int("layers", 1, 4) - 2),
        n_trials=n_trials,
    )
    return study


def test_optuna_views_are_written_and_a_view_too_few_trials_allow_is_skipped(tmp_path):
    study = make_study(f"sqlite:///{tmp_path / 'optuna.db'}", 6)
    written = write_views(study, tmp_path / "sweep")
    names = ["optuna_history", "optuna_importances", "optuna_parallel", "optuna_slice"]
    assert [p.name for p in written] == [f"{n}.png" for n in names]
    assert all(
        p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000 for p in written
    )

    one = make_study(f"sqlite:///{tmp_path / 'one.db'}", 1)  # importances need two trials
    written = write_views(one, tmp_path / "one")
    assert "optuna_history.png" in {p.name for p in written}
    assert not (tmp_path / "one" / "optuna_importances.png").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_optuna_dashboard_serves_the_sweep_storage_over_http(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = make_study(storage, 5)
    command = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    assert command, "optuna-dashboard is not installed: pip install -e '.[dashboard]'"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "dashboard.log").open("w")
    server = subprocess.Popen(
        [command, storage, "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, studies = time.monotonic() + 30, None
        while studies is None and time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "dashboard.log").read_text()
            try:
                studies = get_json(f"{base}/api/studies")["study_summaries"]
            except OSError:  # not listening yet
                time.sleep(0.2)
        assert studies is not None, "optuna-dashboard did not answer within 30 s"
        assert [s["study_name"] for s in studies] == ["tiny"]
        detail = get_json(f"{base}/api/studies/{studies[0]['study_id']}")
        assert len(detail["trials"]) == 5
        best = detail["best_trials"][0]
        assert best["number"] == study.best_trial.number
        assert best["values"][0] == pytest.approx(study.best_value)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
