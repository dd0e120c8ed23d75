"""`data.backtest.refit=true`: the textbook rolling-origin protocol, one training per origin.

The default backtest trains once and scores the last `windows` origins with that one model.
With refit, origin k of N gets its own run on everything before it (an expanding window):
the series are cut `(N - k) * step` steps short (`data.backtest.drop_last`) and scored on
their one last origin, with validation origins right before it as usual, so no run reads
anything after its origin. The reported `test/<metric>` is the mean over the N runs, and
`test/backtest/origin_<k>/<metric>` each run's own value, as in a single-model backtest.

The latest origin's run is the run folder itself (model.json, checkpoints, preprocessor):
predict and export use the model trained on the most data. The earlier ones are complete run
folders under `refit/<k>/`. Cost: N trainings instead of one (docs/forecasting.md).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, open_dict

from lstmkit.atomic import write_json
from lstmkit.errors import ConfigError
from lstmkit.tables import metrics_table

log = logging.getLogger(__name__)


def origin_config(cfg: DictConfig, k: int, windows: int, folder: Path) -> DictConfig:
    """Origin `k` (1 = oldest) of `windows`: the series cut short, one test origin."""
    backtest = cfg.data.backtest
    step = int(backtest.get("step") or cfg.data.horizon)
    run = copy.deepcopy(cfg)
    with open_dict(run):
        run.data.backtest.refit = False
        run.data.backtest.windows = 1
        run.data.backtest.val_windows = int(backtest.get("val_windows") or windows)
        run.data.backtest.drop_last = (windows - k) * step
        run.paths.run_dir = str(folder)
    return run


def mean_over_origins(reports: list[dict[str, Any]]) -> dict[str, float]:
    """`test/<m>` and `val/<m>`: the mean over the runs; `test/backtest/origin_<k>/<m>`: each."""
    metrics: dict[str, float] = {}
    per_run = [r["metrics"] for r in reports]
    shared = set.intersection(*(set(m) for m in per_run))
    for key in sorted(k for k in shared if not k.startswith("test/backtest/")):
        metrics[key] = float(np.mean([m[key] for m in per_run]))
        if key.startswith("test/"):
            for k, m in enumerate(per_run, start=1):
                metrics[f"test/backtest/origin_{k}/{key.removeprefix('test/')}"] = m[key]
    return metrics


def train_refit(
    cfg: DictConfig, train_one: Callable[[DictConfig], dict[str, Any]]
) -> dict[str, Any]:
    """Train once per backtest origin, oldest first; write the mean over origins."""
    started = time.perf_counter()
    if cfg.get("resume") is not None or cfg.get("ckpt_path"):
        raise ConfigError("data.backtest.refit=true cannot resume; resume an origin's run instead.")
    windows = int(cfg.data.backtest.windows or 0)
    if windows < 1:
        raise ConfigError("data.backtest.refit=true needs data.backtest.windows (the origins).")
    out = Path(cfg.paths.run_dir)
    folders = [out / "refit" / str(k) for k in range(1, windows)] + [out]
    reports, seconds = [], []
    for k, folder in enumerate(folders, start=1):
        folder.mkdir(parents=True, exist_ok=True)
        log.info("backtest refit: origin %d/%d in %s", k, windows, folder)
        began = time.perf_counter()
        reports.append(train_one(origin_config(cfg, k, windows, folder)))
        seconds.append(round(time.perf_counter() - began, 2))
    metrics = mean_over_origins(reports)
    last = reports[-1]
    values = [r["objective"].get("value") for r in reports]
    known = [float(v) for v in values if v is not None]
    report = {
        **last,  # the latest origin's run is this folder's model
        "objective": {**last["objective"], "value": float(np.mean(known)) if known else None},
        "metrics": metrics,
        "refit": {
            "origins": windows,
            "runs": [str(f.relative_to(out)) if f != out else "." for f in folders],
            "wall_time_s": seconds,
        },
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    write_json(out / "metrics.json", report)
    log.info(
        "backtest refit over %d origins (%s s per training) in %s\n%s",
        windows,
        seconds,
        out,
        metrics_table(metrics),
    )
    return report
