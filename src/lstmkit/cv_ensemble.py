"""`ensemble.folds`: on a tiny training set, k members, each validated on its own fold.

With a few dozen training sequences a 10% validation split holds 3 or 4 of them, and the
checkpoint and early stopping chosen on it are noise (ArrowHead, 36 training series: one seed
scored 1.0 on its 3 validation series and 0.58 on test). Here the training sequences (train +
val) are dealt into k stratified folds; member i trains on the other folds and keeps its
checkpoint / stops early on fold i; the ensemble averages the members' probabilities. The run's
validation score is out of fold: each member scored on its own fold, weighted by the fold's
size, so it covers every training sequence once. Test is scored once, by the ensemble.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sized
from pathlib import Path
from typing import Any, cast

from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from torch import nn

from lstmkit.data.augment import SMALL
from lstmkit.data.base import CsvDataModule
from lstmkit.data.classified import ClassificationData
from lstmkit.ensemble import member_config, save_ensemble, score, write_report
from lstmkit.errors import ConfigError
from lstmkit.inference.run import load_run
from lstmkit.models.ensemble import Ensemble
from lstmkit.neighbour_choice import Choice, choose, describe, pool
from lstmkit.neighbour_choice import setting as neighbour_setting

log = logging.getLogger(__name__)
FOLDS = 4  # 36 ArrowHead series: 27 to train on and 9 to validate on per member


def fold_count(cfg: DictConfig) -> tuple[int, str]:
    """How many fold members this run trains (0: one ordinary run), and why (logged, saved).

    `ensemble.neighbours=true` needs the members' out-of-fold predictions: refused without.
    """
    folds, why = _fold_count(cfg)
    member = "folds" in cfg.data and cfg.data.get("fold") is not None
    if not folds and not member and neighbour_setting(cfg):
        raise ConfigError(
            f"ensemble.neighbours=true needs a fold ensemble of sequence data, but this run has "
            f"none ({why}); set ensemble.folds=4 (or null below {SMALL} training sequences), "
            "or leave ensemble.neighbours null."
        )
    return folds, why


def _fold_count(cfg: DictConfig) -> tuple[int, str]:
    setting = (cfg.get("ensemble") or {}).get("folds")
    if setting is not None and int(setting) == 1:
        raise ConfigError("ensemble.folds=1 is not cross-validation: use 0 (off), null or >= 2.")
    if "folds" not in cfg.data:
        if setting:
            raise ConfigError(
                f"ensemble.folds={setting}: only sequence data (data=sequence_csv) can be "
                "split into folds; set ensemble.folds=0 or null."
            )
        return 0, "this kind of data has no folds"
    if cfg.data.get("fold") is not None:
        return 0, f"member for fold {cfg.data.fold} of {cfg.data.folds}"
    if setting is not None:
        if setting and int(cfg.ensemble.size) > 1:
            raise ConfigError("ensemble.folds and ensemble.size > 1: choose one kind of ensemble.")
        return int(setting), f"ensemble.folds={setting}"
    if int(cfg.ensemble.size) > 1 or cfg.get("resume") is not None or cfg.get("ckpt_path"):
        return 0, "null: off with ensemble.size > 1 or a resumed run"
    count = training_sequences(cfg)
    on = count < SMALL
    why = f"null: {count} training sequences {'<' if on else '>='} {SMALL}"
    log.info("ensemble.folds %d (%s)", FOLDS if on else 0, why)
    return (FOLDS if on else 0), why


def training_sequences(cfg: DictConfig) -> int:
    """Train + val sequences of the run's ordinary split: what the folds would share out."""
    datamodule: CsvDataModule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return sum(len(cast(Sized, datamodule.splits[split])) for split in ("train", "val"))


def fold_config(cfg: DictConfig, fold: int, folds: int, folder: Path) -> DictConfig:
    """Member `fold`: its own seed, folder and validation fold; one preprocessing for all.

    `ensemble.keep=last` (the default): the member trains its whole budget and keeps its last
    weights, its fold only scores it; `best`: it stops early and keeps its best epoch on it.
    """
    keep = (cfg.get("ensemble") or {}).get("keep", "last")
    if keep not in ("last", "best"):
        raise ConfigError(f"ensemble.keep must be last or best, got {keep!r}.")
    member = member_config(cfg, fold, folder)
    with open_dict(member):
        member.data.folds, member.data.fold = folds, fold
        member.ensemble.folds = 0
        callbacks = member.get("callbacks") or {}
        if keep == "last" and callbacks.get("model_checkpoint"):
            member.callbacks.model_checkpoint.monitor = None  # best.ckpt = the last epoch's
        if keep == "last" and callbacks.get("early_stopping"):
            member.callbacks.early_stopping = None
    return member


def out_of_fold(
    cfg: DictConfig,
    nets: list[nn.Module],
    datamodules: list[CsvDataModule],
    neighbours: Choice | None = None,
) -> dict[str, float]:
    """Each member's validation metrics on its own fold, averaged with the folds' sizes as
    weights: accuracy and loss are then exactly those of the pooled out-of-fold predictions.

    With a neighbour member, member i is blended with neighbours that remember only the
    series it trained on, at the chosen weight: the scores of what was saved, out of fold.
    """
    total: dict[str, float] = {}
    count = 0
    for i, (net, datamodule) in enumerate(zip(nets, datamodules, strict=True)):
        size = len(cast(Sized, datamodule.splits["val"]))
        if neighbours is not None and neighbours.member is not None:
            net = Ensemble([net], True, neighbours.fold_members[i], neighbours.weight).eval()
        for key, value in score(cfg, net, datamodule, ("validate",)).items():
            total[key] = total.get(key, 0.0) + value * size
        count += size
    return {key: value / count for key, value in total.items()}


def choose_neighbours(
    cfg: DictConfig, nets: list[nn.Module], datamodules: list[CsvDataModule]
) -> Choice:
    """The nearest-neighbour member (or none), chosen on the members' out-of-fold predictions."""
    if neighbour_setting(cfg) is False:
        choice = Choice("ensemble.neighbours=false")
    else:
        labels = cast(ClassificationData, datamodules[0]).labels
        assert labels is not None, "setup() first"
        choice = choose(cfg, pool(nets, datamodules), len(labels.names))
    log.info(describe(choice))
    return choice


def train_cv_ensemble(
    cfg: DictConfig, train_one: Callable[[DictConfig], dict[str, Any]], folds: int, why: str
) -> dict[str, Any]:
    """Train the fold members one after another, then save and score their average."""
    started = time.perf_counter()
    if cfg.get("resume") is not None or cfg.get("ckpt_path"):
        raise ConfigError("ensemble.folds cannot resume; resume a member run instead.")
    out = Path(cfg.paths.run_dir)
    log.info("cross-validated ensemble of %d fold members (ensemble.folds %s)", folds, why)
    members = [fold_config(cfg, i, folds, out / "members" / str(i)) for i in range(folds)]
    reports = []
    for i, member in enumerate(members):
        Path(member.paths.run_dir).mkdir(parents=True, exist_ok=True)
        log.info(
            "fold member %d/%d (seed %d) in %s", i + 1, folds, member.seed, member.paths.run_dir
        )
        reports.append(train_one(member))
    datamodules: list[CsvDataModule] = [instantiate(member.data) for member in members]
    for datamodule in datamodules:
        datamodule.setup("fit")
    chosen = cfg.copy()
    with open_dict(chosen):
        chosen.ensemble.folds = folds  # the saved config says what ran
    folders = [Path(member.paths.run_dir) for member in members]
    nets = [load_run(folder).net for folder in folders]  # each member, read back once
    near = choose_neighbours(cfg, nets, datamodules)
    net = save_ensemble(out, chosen, folders, datamodules[0], near)  # one preprocessing for all
    metrics = out_of_fold(cfg, nets, datamodules, near)
    metrics |= score(cfg, net, datamodules[0], ("test",))
    info = {
        "size": folds,
        "folds": folds,
        "reason": why,
        "keep": (cfg.get("ensemble") or {}).get("keep", "last"),
        "val": "out of fold: each member on its own fold, weighted by fold size",
        "members": [str(folder.relative_to(out)) for folder in folders],
        "neighbours": {"reason": near.reason, **near.summary},
    }
    return write_report(chosen, out, metrics, [r["metrics"] for r in reports], info, started)
