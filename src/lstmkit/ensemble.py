"""`ensemble.size=k`: k members trained with seeds seed..seed+k-1 on the same split, then
scored together (averaged probabilities or forecasts) on validation and test.

The run folder is an ordinary run folder (model.json of kind `ensemble`, checkpoints/best.ckpt,
preprocessor/, config.json, metrics.json), so predict.py and ONNX export read it as they read
any run; each member is a complete run folder of its own under `members/<i>/`.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from lstmkit.atomic import atomic_path, write_json
from lstmkit.data.base import CsvDataModule
from lstmkit.errors import ConfigError
from lstmkit.inference.run import load_run
from lstmkit.models.ensemble import Ensemble
from lstmkit.models.spec import ModelSpec
from lstmkit.neighbour_choice import Choice
from lstmkit.run_config import save_config
from lstmkit.tables import metrics_table

log = logging.getLogger(__name__)


def member_config(cfg: DictConfig, index: int, folder: Path) -> DictConfig:
    """Member `index`: its own seed and folder; the data split stays the ensemble's."""
    member = copy.deepcopy(cfg)
    with open_dict(member):
        member.data.seed = int(cfg.data.seed)  # one split for every member: a fair average
        member.seed = int(cfg.seed) + index
        member.paths.run_dir = str(folder)
        member.ensemble.size = 1
    return member


def score(
    cfg: DictConfig,
    net: torch.nn.Module,
    datamodule: CsvDataModule,
    stages: tuple[str, ...] = ("validate", "test"),
) -> dict[str, float]:
    """Validation and / or test metrics of `net` through the run's own task and data."""
    make_task = instantiate(cfg.task, _partial_=True)
    task = make_task(
        net=net,
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler),
        **datamodule.task_kwargs(),
    )
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    metrics: dict[str, float] = {}
    for stage in stages:
        results = getattr(trainer, stage)(task, datamodule=datamodule, verbose=False)
        metrics |= {k: float(v) for k, v in (results[0] if results else {}).items()}
    return metrics


def save_ensemble(
    out: Path,
    cfg: DictConfig,
    folders: list[Path],
    datamodule: CsvDataModule,
    neighbours: Choice | None = None,
) -> Ensemble:
    """Write the ensemble's model.json, checkpoint, preprocessing and config; return its net.

    `neighbours`: a fold ensemble's nearest-neighbour member and its weight, if one was chosen.
    """
    loaded = [load_run(folder) for folder in folders]  # members read back as data
    near = neighbours.spec() if neighbours is not None else None
    spec = ModelSpec.ensemble([run.model for run in loaded], near)
    net = cast(Ensemble, spec.build())  # an ensemble spec builds an Ensemble
    classifier = spec.params["member_kind"] == "classifier"
    trained = (
        Ensemble([run.net for run in loaded], classifier)
        if neighbours is None or neighbours.member is None
        else Ensemble([run.net for run in loaded], True, neighbours.member, neighbours.weight)
    )
    net.load_state_dict(trained.state_dict())
    net.eval()
    spec.save(out)
    datamodule.save_preprocessor(out / "preprocessor")
    save_config(out, cfg)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    state = {f"net.{k}": v for k, v in net.state_dict().items()}
    with atomic_path(out / "checkpoints" / "best.ckpt") as tmp:
        torch.save({"state_dict": state}, tmp)
    return net


def train_ensemble(
    cfg: DictConfig, train_one: Callable[[DictConfig], dict[str, Any]]
) -> dict[str, Any]:
    """Train the members one after another, then score and save their average."""
    started = time.perf_counter()
    size = int(cfg.ensemble.size)
    if cfg.get("resume") is not None or cfg.get("ckpt_path"):
        raise ConfigError("ensemble.size > 1 cannot resume; resume a member run instead.")
    out = Path(cfg.paths.run_dir)
    folders = [out / "members" / str(i) for i in range(size)]
    reports = []
    for index, folder in enumerate(folders):
        folder.mkdir(parents=True, exist_ok=True)
        log.info("ensemble member %d/%d (seed %d) in %s", index + 1, size, cfg.seed + index, folder)
        reports.append(train_one(member_config(cfg, index, folder)))
    datamodule: CsvDataModule = instantiate(cfg.data)
    datamodule.setup("fit")
    net = save_ensemble(out, cfg, folders, datamodule)
    member_metrics = [r["metrics"] for r in reports]
    info = {"size": size, "members": [str(f.relative_to(out)) for f in folders]}
    return write_report(cfg, out, score(cfg, net, datamodule), member_metrics, info, started)


def write_report(
    cfg: DictConfig,
    out: Path,
    metrics: dict[str, float],
    member_metrics: list[dict[str, float]],
    info: dict[str, Any],
    started: float,
) -> dict[str, Any]:
    """metrics.json of an ensemble run folder: its own scores, then each member's."""
    objective = cfg.get("objective") or {}
    metric = objective.get("metric") or cfg.task.monitor
    report = {
        "status": "ok",
        "objective": {
            "metric": metric,
            "mode": objective.get("mode"),
            "value": metrics.get(metric),
            "epoch": None,
        },
        "metrics": metrics,
        "ensemble": {**info, "member_metrics": member_metrics},
        "best_checkpoint": str(out / "checkpoints" / "best.ckpt"),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    write_json(out / "metrics.json", report)
    log.info("ensemble of %d in %s\n%s", len(member_metrics), out, metrics_table(metrics))
    for index, member in enumerate(member_metrics):
        shown = {k: v for k, v in member.items() if k.startswith(("val/", "test/"))}
        log.info("member %d: %s", index, ", ".join(f"{k}={v:.4g}" for k, v in shown.items()))
    return report
