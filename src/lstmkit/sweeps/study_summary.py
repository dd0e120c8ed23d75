"""The sweep summary rebuilt from an Optuna study alone.

When several sweep processes (on one machine or many) share a study, their job folders may lie
in different sweep folders; the study knows every trial, and each trial records the folder its
job wrote (`folder`) and the process that ran it (`worker`). A folder this machine cannot see
still gives a row: parameters, state and value from the study.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from lstmkit.sweeps.naming import label, override_value
from lstmkit.sweeps.summary import job_row, ranked

STATUS = {"COMPLETE": "ok", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}


def trial_row(trial: Any, keys: set[str], mode: str) -> dict[str, Any]:
    """One trial: its job folder's row when the folder is here, else what the study holds."""
    folder = Path(str(trial.user_attrs.get("folder", "")))
    overrides = [f"{k}={override_value(v)}" for k, v in trial.params.items()]
    if trial.user_attrs.get("folder") and (folder / ".hydra" / "overrides.yaml").is_file():
        row = job_row(folder, keys)
    else:
        where = f" ({folder})" if trial.user_attrs.get("folder") else ""
        row = {
            "overrides": label(overrides, keys),
            "mode": mode,
            "all_overrides": " ".join(overrides),
            "folder": str(folder) if trial.user_attrs.get("folder") else "",
            "error": f"job folder not found here{where}" if trial.state.is_finished() else "",
        }
    status = STATUS.get(trial.state.name, trial.state.name.lower())
    if status != "ok" and row.get("status") == "ok":
        row["error"] = f"the study says {trial.state.name}"
    error = trial.user_attrs.get("error")
    if error and not row.get("error"):
        row["error"] = error
    value = trial.value if trial.state.name == "COMPLETE" else math.nan
    return row | {
        "job": str(trial.number),
        "status": status,
        "best_val": value,
        "mode": mode,
        "worker": trial.user_attrs.get("worker", ""),
    }


def summarize_study(study: Any) -> pd.DataFrame:
    """Every trial of the study, best first (the folder-based summary's columns, plus worker)."""
    trials = study.get_trials(deepcopy=False)
    keys = {key for trial in trials for key in trial.params}
    mode = "max" if study.direction.name == "MAXIMIZE" else "min"
    return ranked([trial_row(trial, keys, mode) for trial in trials])


def write_sweep_summary(sweep_dir: str | Path) -> tuple[pd.DataFrame, str]:
    """summary.csv/.md/.png of a sweep folder: from its Optuna study when it has one (so the
    trials of other processes sharing the study show too), else from its job folders."""
    from lstmkit.sweeps.optuna_views import study_of
    from lstmkit.sweeps.summary import write_summary, write_table

    study = study_of(sweep_dir)
    if study is None:
        return write_summary(sweep_dir)
    table = summarize_study(study)
    return table, write_table(table, Path(sweep_dir))
