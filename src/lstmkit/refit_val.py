"""`data.backtest.refit_on_val=true`: choose on validation, then train anew on train + val.

A forecaster trained on the training span alone never sees the cycles right before the test
origins, while seasonal naive and ETS use everything before each origin. With this flag a run
first trains as usual in `select/`, where the validation origins choose the epoch count (the
best checkpoint), the season and alpha of the anchor, the input length and the log transform,
and whether to keep the untrained anchor. Then the final model is trained from scratch in the
run folder itself on every window before the test span (`data.backtest.train_on_val`; the
scaler too), for the same step budget (that many epochs of as many steps), with no early
stopping, and keeps its last weights. Nothing in the second run is chosen on validation, which
it now trains on: `metrics.json` reports the `select/` run's validation scores, objective and
anchor choice beside the final model's test scores. A run that kept its anchor has nothing to
refit: its `select/` folder becomes the model. Cost: at most twice one run.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, open_dict

from lstmkit.atomic import write_json
from lstmkit.errors import ConfigError

log = logging.getLogger(__name__)
FLAG = "data.backtest.refit_on_val"


def check_refit_on_val(cfg: DictConfig) -> None:
    """Refuse what the second run could not honour, naming the key to change."""
    if cfg.get("resume") is not None or cfg.get("ckpt_path"):
        raise ConfigError(f"{FLAG}=true cannot resume; resume its select/ run instead.")
    if int((cfg.get("ensemble") or {}).get("size") or 1) > 1:
        raise ConfigError(f"{FLAG}=true trains one model; set ensemble.size=1 or {FLAG}=false.")
    if (cfg.get("model") or {}).get("quantiles"):
        raise ConfigError(
            f"{FLAG}=true: quantile intervals are calibrated on the validation windows, which "
            f"the refit trains on; set {FLAG}=false or model.quantiles=null."
        )


def select_config(cfg: DictConfig, folder: Path) -> DictConfig:
    """The usual run, in `folder`: every choice made on validation."""
    run = copy.deepcopy(cfg)
    with open_dict(run):
        run.data.backtest.refit_on_val = False
        run.paths.run_dir = str(folder)
    return run


def final_config(cfg: DictConfig, select: Path, steps_per_epoch: int) -> DictConfig:
    """Train on train + val with the select run's choices, for its best checkpoint's budget."""
    chosen = json.loads((select / "preprocessor" / "preprocessor.json").read_text())
    best = torch.load(select / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    run = copy.deepcopy(cfg)
    with open_dict(run):
        run.data.backtest.refit_on_val = False
        run.data.backtest.train_on_val = True
        run.data.input_length = int(chosen["input_length"])
        run.data.anchor_alpha = float(chosen["anchor_alpha"])
        run.data.log_transform = bool(chosen["scaler"]["log"])
        run.data.windows_per_epoch = steps_per_epoch * int(cfg.data.batch_size)
        run.trainer.max_epochs = int(best["epoch"]) + 1
        run.callbacks.pop("early_stopping", None)
        if run.callbacks.get("model_checkpoint") is not None:
            run.callbacks.model_checkpoint.monitor = None  # the last epoch: the chosen budget
    return run


def train_refit_on_val(
    cfg: DictConfig, train_one: Callable[[DictConfig], dict[str, Any]]
) -> dict[str, Any]:
    """The select run, then (unless it kept its anchor) the refit; one metrics.json."""
    started = time.perf_counter()
    check_refit_on_val(cfg)
    out = Path(cfg.paths.run_dir)
    select = out / "select"
    select.mkdir(parents=True, exist_ok=True)
    chosen = train_one(select_config(cfg, select))
    kept = (chosen.get("anchor") or {}).get("kept")
    record: dict[str, Any] = {"select": "select", "refit": kept != "anchor"}
    if kept == "anchor":
        log.info("%s: the select run kept its anchor; nothing trained to refit", FLAG)
        shutil.copytree(select, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns("select"))
        final = {**chosen, "best_checkpoint": str(out / "checkpoints" / "best.ckpt")}
    else:
        run = final_config(cfg, select, int(chosen["budget"]["steps_per_epoch"]))
        record |= {"epochs": int(run.trainer.max_epochs), "train_on_val": True}
        log.info("%s: training anew on train + val for %d epoch(s)", FLAG, record["epochs"])
        final = train_one(run)
        record["steps"] = final.get("global_step")
    honest = {k: v for k, v in chosen["metrics"].items() if k.startswith("val/")}
    tested = {k: v for k, v in final["metrics"].items() if not k.startswith("val/")}
    report = {
        **final,
        "objective": chosen["objective"],  # a sweeper compares the select run's val score
        "metrics": honest | tested,
        "anchor": chosen.get("anchor"),
        "val_at_best": chosen.get("val_at_best"),
        "refit_on_val": record,
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    write_json(out / "metrics.json", report)
    return report
