"""`ensemble.from_sweep=<multirun dir>`: the sweep's top-k jobs averaged into one run folder.

Jobs are ranked by the sweep's own validation objective (the value each job's metrics.json
reports; a test objective is refused) and reused as they are: each is read back through
`load_run` (model.json + a weights-only checkpoint), never through a `_target_` in its folder.
Members must share the data split and preprocessing, since the ensemble feeds them one input:
their data settings must equal this run's (loader-only keys aside), and the preprocessor files
this run builds must equal theirs byte for byte. The new folder is self-contained (model.json
of kind `ensemble`, one checkpoint, preprocessor/), so predict and export read it as any run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, cast

import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from lstmkit.callbacks.best_metric import check_not_test
from lstmkit.data.base import CsvDataModule
from lstmkit.ensemble import save_ensemble, score, write_report
from lstmkit.errors import ConfigError, DataError
from lstmkit.inference.run import load_run
from lstmkit.run_config import read_record
from lstmkit.sweeps.naming import override_key, override_value, swept_keys
from lstmkit.sweeps.summary import summarize

log = logging.getLogger(__name__)

# how batches are served, not what they hold: members may differ in these
LOADER_KEYS = frozenset(
    {
        "batch_size",
        "eval_batch_size",
        "num_workers",
        "pool_factor",
        "cache_dir",
        "use_cache",
        "stream_above_mb",
        "chunk_mb",
    }
)


def top_jobs(sweep_dir: Path, k: int) -> pd.DataFrame:
    """The k finished jobs with the best validation objective, best first."""
    if not sweep_dir.is_dir():
        raise ConfigError(
            f"ensemble.from_sweep={sweep_dir}: no such folder. Give a multirun folder "
            "(outputs/multirun/<time>) whose jobs have finished."
        )
    table = summarize(sweep_dir)
    done = table[(table["status"] == "ok") & table["best_val"].notna()] if len(table) else table
    if done.empty:
        raise ConfigError(
            f"ensemble.from_sweep={sweep_dir}: no finished job with a validation objective "
            f"({len(table)} job folders found). Wait for the sweep, or give another folder."
        )
    metrics = sorted(set(done["objective"]))
    if len(metrics) != 1:
        raise ConfigError(
            f"ensemble.from_sweep={sweep_dir}: its jobs optimised different objectives "
            f"{metrics}; ranking needs one."
        )
    check_not_test(metrics[0], "the sweep's objective.metric")
    if len(done) < k:
        log.warning("ensemble.top_k=%d but only %d finished jobs: using them all", k, len(done))
    return done.head(k)


def data_settings(data: dict[str, Any], prefix: str = "data.") -> dict[str, Any]:
    """The data settings that decide the split and the preprocessing, as dotted keys.

    `seed` draws a split only when there is no split column, so with one it may differ.
    """
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if key in LOADER_KEYS or (key == "seed" and data.get("split_column")):
            continue
        if isinstance(value, dict):
            settings |= data_settings(value, f"{prefix}{key}.")
        else:
            settings[prefix + key] = value
    return settings


def fixed_data_overrides(sweep_dir: Path, job: Path) -> str:
    """The data overrides every job of the sweep shares: what this run must repeat."""
    lines = OmegaConf.load(job / ".hydra" / "overrides.yaml")
    swept = swept_keys(sweep_dir)
    keep = [str(o) for o in lines if override_key(str(o)).split(".")[0] == "data"]
    return " ".join(o for o in keep if override_key(o) not in swept)


def check_same_data(cfg: DictConfig, sweep_dir: Path, folders: list[Path]) -> None:
    """Every member was trained on this run's split and preprocessing settings."""
    ours = data_settings(cast(dict[str, Any], OmegaConf.to_container(cfg.data, resolve=True)))
    for folder in folders:
        theirs = data_settings(read_record(folder)["config"].get("data") or {})
        differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
        if differ:
            shown = "; ".join(f"{k}: {theirs.get(k)!r} there, {ours.get(k)!r} here" for k in differ)
            same = " ".join(f"{k}={override_value(theirs.get(k))}" for k in differ)
            raise ConfigError(
                f"ensemble.from_sweep: member {folder} was trained on other data settings than "
                f"this run ({shown}). Members share one input and one split: give the sweep's "
                f"data overrides ({fixed_data_overrides(sweep_dir, folder)}) and the settings it "
                f"had then ({same}); a sweep over data.* cannot be ensembled."
            )


def check_same_preprocessing(ours: Path, folders: list[Path]) -> None:
    """The preprocessor files this run built equal each member's (the CSV has not changed)."""
    for name in sorted(p.name for p in ours.iterdir() if p.is_file()):
        for folder in folders:
            theirs = folder / "preprocessor" / name
            if not theirs.is_file() or theirs.read_bytes() != (ours / name).read_bytes():
                raise DataError(
                    f"ensemble.from_sweep: {theirs} differs from the preprocessing this run "
                    "fitted on the same settings: the data file changed since the sweep. "
                    "Ensemble a sweep trained on the current file."
                )


def ensemble_from_sweep(cfg: DictConfig) -> dict[str, Any]:
    """Rank, check, average and score the sweep's top-k jobs; write this run's folder."""
    started = time.perf_counter()
    if cfg.get("resume") is not None or cfg.get("ckpt_path"):
        raise ConfigError("ensemble.from_sweep cannot resume; run it again (it trains nothing).")
    sweep_dir = Path(str(cfg.ensemble.from_sweep))
    jobs = top_jobs(sweep_dir, int(cfg.ensemble.top_k))
    folders = [Path(f) for f in jobs["folder"]]
    check_same_data(cfg, sweep_dir, folders)
    out = Path(cfg.paths.run_dir)
    datamodule: CsvDataModule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.save_preprocessor(out / "preprocessor")
    check_same_preprocessing(out / "preprocessor", folders)
    net = save_ensemble(out, cfg, folders, datamodule)
    member_metrics = [score(cfg, load_run(folder).net, datamodule) for folder in folders]
    info = {
        "from_sweep": str(sweep_dir),
        "size": len(folders),
        "members": [str(f) for f in folders],
        "member_overrides": list(jobs["overrides"]),
        "member_objective": [float(v) for v in jobs["best_val"]],
    }
    return write_report(cfg, out, score(cfg, net, datamodule), member_metrics, info, started)
