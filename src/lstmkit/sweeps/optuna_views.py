"""Optuna's own views of a search, as PNG files in the sweep folder (matplotlib, no browser).

Optimisation history, parameter importances (Optuna's default evaluator), parallel coordinates
and slices: written after every Optuna sweep, and by `scripts/summarize_sweep.py` for any sweep
folder that holds a study. `optuna-dashboard <storage>` is the live view (docs/sweeps.md).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from lstmkit.atomic import atomic_path
from lstmkit.sweeps.storage import load_study, storage_url

log = logging.getLogger(__name__)
SWEEPER = "LstmkitOptunaSweeper"
MIN_COMPLETE = {"optuna_importances.png": 2}  # Optuna would draw equal importances from one


def study_of(sweep_dir: str | Path) -> Any:
    """The sweep's Optuna study (read from multirun.yaml's sweeper settings), else None."""
    path = Path(sweep_dir) / "multirun.yaml"
    if not path.is_file():
        return None
    sweeper = OmegaConf.select(OmegaConf.load(path), "hydra.sweeper", default=None) or {}
    if not str(sweeper.get("_target_", "")).endswith(SWEEPER):
        return None
    url = storage_url(sweeper.get("storage"), str(sweep_dir))
    return load_study(url, str(sweeper.get("study_name", "lstmkit")))


def plots() -> dict[str, Callable[..., Any]]:
    """File name -> Optuna's matplotlib plot function."""
    from optuna.visualization import matplotlib as vis

    return {
        "optuna_history.png": vis.plot_optimization_history,
        "optuna_importances.png": vis.plot_param_importances,
        "optuna_parallel.png": vis.plot_parallel_coordinate,
        "optuna_slice.png": vis.plot_slice,
    }


def write_views(study: Any, folder: str | Path) -> list[Path]:
    """Write each view that the study's finished trials allow; a view that cannot be drawn
    (e.g. importances from fewer than two complete trials) is skipped with a warning."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import optuna

    # categorical axes of numbers-as-strings (choice(16, 32)) log an INFO line per axis
    logging.getLogger("matplotlib.category").setLevel(logging.WARNING)
    complete = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    written = []
    for name, plot in plots().items():
        if complete < MIN_COMPLETE.get(name, 1):
            log.warning("optuna view %s skipped: %d complete trials", name, complete)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = plot(study)
        except Exception as e:  # a view the trials cannot support must not hide the others
            log.warning("optuna view %s skipped: %s", name, e)
            continue
        panels = np.ravel(axes)
        figure = panels[0].figure
        figure.set_size_inches(max(8, 3 * len(panels)), 5)  # a slice panel per parameter
        with atomic_path(Path(folder) / name) as tmp:
            figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(Path(folder) / name)
    return written


def write_sweep_views(sweep_dir: str | Path) -> list[Path]:
    """The views of the sweep's study, if it is an Optuna sweep with a study; else none."""
    study = study_of(sweep_dir)
    return write_views(study, sweep_dir) if study is not None else []
