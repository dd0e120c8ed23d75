"""The training recipe, top to bottom: data -> model -> task -> trainer -> fit -> test -> report."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, cast

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from omegaconf import DictConfig, OmegaConf

import lstmkit.run_dirs  # noqa: F401  (registers ${lstmkit.new_dir:...} in a launcher's job processes)
from lstmkit.anchor_fallback import keep_anchor, recalibrate_kept_anchor
from lstmkit.atomic import write_json
from lstmkit.budget import apply_budget
from lstmkit.callbacks.adaptive_threads import runtime_callbacks
from lstmkit.callbacks.best_metric import BestMetric, check_not_test
from lstmkit.callbacks.run_config import RunConfig
from lstmkit.config_checks import check_config
from lstmkit.cv_ensemble import fold_count, train_cv_ensemble
from lstmkit.data.base import CsvDataModule
from lstmkit.errors import ConfigError
from lstmkit.models.spec import ModelSpec
from lstmkit.resume import check_same_run, objective_of, prepare_resume, record_resume
from lstmkit.run_config import plain_config, save_config
from lstmkit.runtime import configure_torch, resolve_precision
from lstmkit.sweeps.naming import job_label
from lstmkit.tables import metrics_table

log = logging.getLogger(__name__)


def build_model(cfg: DictConfig, datamodule: CsvDataModule) -> tuple[ModelSpec, torch.nn.Module]:
    """The network's plain spec (our conf/model choice + the sizes the data dictates) and the
    network built from it: the very spec a run folder keeps, so predict rebuilds the same."""
    model = cast(dict[str, Any], OmegaConf.to_container(cfg.model, resolve=True))
    spec = ModelSpec.from_config(model, dict(datamodule.model_kwargs()))
    vectors = model.get("pretrained_embeddings")
    pretrained = None
    if vectors:
        from lstmkit.models.embeddings import load_vectors

        text: Any = datamodule  # vectors come with text data, which has an encoder
        vocab = text.encoder.tokenizer.get_vocab()
        pretrained, _ = load_vectors(vectors, vocab, model["embedding_dim"])
    return spec, spec.build(pretrained)


def build_trainer(cfg: DictConfig, out: Path, extra_callbacks: list | None = None) -> L.Trainer:
    callbacks = [instantiate(c) for c in cfg.callbacks.values() if c is not None]
    callbacks += extra_callbacks or []
    if not cfg.trainer.get("enable_progress_bar", True):  # Lightning rejects a bar it may not show
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    label = job_label()  # in a sweep, the TensorBoard run is named by the job's swept overrides
    logger = False
    if cfg.get("logger"):
        logger = instantiate(cfg.logger, **({"version": label} if label else {}))
    precision = resolve_precision(cfg.trainer.precision, cfg.trainer.accelerator)
    return instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=logger,
        default_root_dir=str(out),
        precision=precision,
    )


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run one training job and return its final metrics (also written to metrics.json)."""
    started = time.perf_counter()
    resume = prepare_resume(cfg)  # resume=<run dir>: checked before anything is written
    if resume and resume.complete is not None:
        log.info(
            "%s is complete (metrics.json); nothing to do. Resume with a larger "
            "trainer.max_epochs to train on.",
            resume.folder,
        )
        return {**resume.complete, "objective": {"value": objective_of(resume.complete)}}
    check_config(cfg)  # a wrong type or range fails here, naming its key, before any work
    if (cfg.get("ensemble") or {}).get("from_sweep"):
        from lstmkit.ensemble_sweep import ensemble_from_sweep

        return ensemble_from_sweep(cfg)
    if (cfg.data.get("backtest") or {}).get("refit"):
        from lstmkit.refit import train_refit

        return train_refit(cfg, train)
    if (cfg.data.get("backtest") or {}).get("refit_on_val"):
        from lstmkit.refit_val import train_refit_on_val

        return train_refit_on_val(cfg, train)
    folds, folds_why = fold_count(cfg)  # tiny sequence sets: a cross-validated ensemble
    if folds:
        return train_cv_ensemble(cfg, train, folds, folds_why)
    if int((cfg.get("ensemble") or {}).get("size") or 1) > 1:
        from lstmkit.ensemble import train_ensemble

        return train_ensemble(cfg, train)
    check_not_test(cfg.task.monitor, "task.monitor")  # checkpoints and early stopping follow it
    objective = cfg.get("objective") or {}
    tracker = BestMetric(
        objective.get("metric") or cfg.task.monitor, objective.get("mode") or cfg.task.monitor_mode
    )
    runtime = configure_torch(
        cfg.runtime.threads, cfg.runtime.flush_denormal, cfg.runtime.get("allocator", "auto")
    )
    L.seed_everything(cfg.seed, workers=True)
    out = Path(cfg.paths.run_dir)  # chosen by Hydra: hydra.run.dir or the sweep job folder

    datamodule: CsvDataModule = instantiate(cfg.data)
    if not isinstance(datamodule, CsvDataModule):
        raise ConfigError(
            f"data._target_={cfg.data._target_} is not a lstmkit.data.base.CsvDataModule; "
            "a new kind of data subclasses it (see docs/datamodules.md)."
        )
    datamodule.prepare_data()
    datamodule.setup("fit")
    budget = apply_budget(cfg, datamodule)
    spec, net = build_model(cfg, datamodule)
    if resume:
        check_same_run(resume, datamodule, spec)

    make_task = instantiate(cfg.task, _partial_=True)  # objects below must not pass through Hydra
    task = make_task(
        net=net,
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler),
        **datamodule.task_kwargs(),
    )
    adaptive = runtime_callbacks(cfg.runtime.threads)
    trainer = build_trainer(cfg, out, [tracker, RunConfig(plain_config(cfg)), *adaptive])
    runtime["precision"] = str(trainer.precision)
    log.info("precision %s (trainer.precision=%s)", trainer.precision, cfg.trainer.precision)
    if resume:
        record_resume(resume)
    elif trainer.is_global_zero:
        datamodule.save_preprocessor(out / "preprocessor")
        spec.save(out)
        save_config(out, cfg)
    trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True)

    for callback in adaptive:  # what AdaptiveThreads measured and chose, for metrics.json
        runtime.update(threads=callback.threads, threads_events=callback.events)
    metrics: dict[str, Any] = {
        k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")
    }
    # the Checkpoint base class declares nothing; ours is a ModelCheckpoint
    checkpoint = cast(ModelCheckpoint | None, trainer.checkpoint_callback)
    best = checkpoint.best_model_path if checkpoint else ""
    anchor = keep_anchor(trainer, checkpoint, tracker)  # forecasting: no epoch beat the anchor
    if anchor and anchor["kept"] == "anchor" and getattr(task.net, "quantiles", None):
        recalibrate_kept_anchor(trainer, task, datamodule, best)
    if cfg.get("test_after_fit", True):
        results = trainer.test(task, datamodule=datamodule, ckpt_path=best or None, verbose=False)
        metrics.update({k: float(v) for k, v in (results[0] if results else {}).items()})
    report = {
        "status": "ok",
        "objective": tracker.report(metrics),  # what train.py returns to a sweeper
        "metrics": metrics,
        "best_checkpoint": best,
        "best_score": float(checkpoint.best_model_score)
        if checkpoint and checkpoint.best_model_score is not None
        else None,
        "epochs": trainer.current_epoch,
        "max_epochs": cfg.trainer.max_epochs,  # what "complete" means to a later resume
        "global_step": trainer.global_step,
        "budget": budget,
        "folds": {"folds": 0, "reason": folds_why},  # ensemble.folds: why this is one run
        "anchor": anchor,  # null, or whether the run kept the untrained anchor (and the losses)
        "val_at_best": tracker.at_best,  # the objective's best epoch (the checkpoint's, by default)
        "wall_time_s": round(time.perf_counter() - started, 2),
        "preprocessing_cache_hit": datamodule.cache_hit,
        "runtime": runtime,
    }
    if trainer.is_global_zero:
        write_json(out / "metrics.json", report)
        log.info("results for %s\n%s", out, metrics_table(metrics))
    return report
