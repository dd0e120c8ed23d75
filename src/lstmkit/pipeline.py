"""The training recipe, top to bottom: data -> model -> task -> trainer -> fit -> test -> report."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from omegaconf import DictConfig, OmegaConf

from lstmkit.atomic import write_json
from lstmkit.callbacks.adaptive_threads import runtime_callbacks
from lstmkit.callbacks.best_metric import BestMetric
from lstmkit.errors import ConfigError
from lstmkit.resume import resume_config
from lstmkit.runtime import configure_torch, resolve_precision
from lstmkit.sweeps.naming import job_label
from lstmkit.tables import metrics_table

log = logging.getLogger(__name__)


def build_model(cfg: DictConfig, datamodule: Any) -> torch.nn.Module:
    """Instantiate the network with the sizes the data dictates (vocab, classes, features)."""
    kwargs = dict(datamodule.model_kwargs())
    vectors = cfg.model.get("pretrained_embeddings")
    if vectors:
        from lstmkit.models.embeddings import load_vectors

        vocab = datamodule.encoder.tokenizer.get_vocab()
        kwargs["pretrained_embeddings"], _ = load_vectors(vectors, vocab, cfg.model.embedding_dim)
    try:
        return instantiate(cfg.model, **kwargs)
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, ValueError):  # a model argument out of range, e.g. hidden_size=-4
            raise ConfigError(f"{cfg.model._target_}: {cause}") from None
        if "unexpected keyword argument" not in str(e):
            raise
        # e.g. data=airline with the default model=lstm
        raise ConfigError(
            f"model {cfg.model._target_} does not fit this data, which provides "
            f"{sorted(kwargs)}. Forecasting data needs model=seq2seq; classification data "
            "needs model=lstm or model=gru."
        ) from None


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
    cfg = resume_config(cfg)  # resume=<run dir>: that run's own config, continued in place
    runtime = configure_torch(
        cfg.runtime.threads, cfg.runtime.flush_denormal, cfg.runtime.get("allocator", "auto")
    )
    L.seed_everything(cfg.seed, workers=True)
    out = Path(cfg.paths.run_dir)  # chosen by Hydra: hydra.run.dir or the sweep job folder

    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.save_preprocessor(out / "preprocessor")

    net = build_model(cfg, datamodule)
    make_task = instantiate(cfg.task, _partial_=True)  # objects below must not pass through Hydra
    task = make_task(
        net=net,
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler),
        run_config=OmegaConf.to_container(cfg, resolve=True),
        **datamodule.task_kwargs(),
    )
    objective = cfg.get("objective") or {}
    tracker = BestMetric(
        objective.get("metric") or cfg.task.monitor, objective.get("mode") or cfg.task.monitor_mode
    )
    adaptive = runtime_callbacks(cfg.runtime.threads)
    trainer = build_trainer(cfg, out, [tracker, *adaptive])
    runtime["precision"] = str(trainer.precision)
    log.info("precision %s (trainer.precision=%s)", trainer.precision, cfg.trainer.precision)
    trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))

    for callback in adaptive:  # what AdaptiveThreads measured and chose, for metrics.json
        runtime.update(threads=callback.threads, threads_events=callback.events)
    metrics: dict[str, Any] = {
        k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")
    }
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if cfg.get("test_after_fit", True):
        results = trainer.test(task, datamodule=datamodule, ckpt_path=best or None, verbose=False)
        metrics.update({k: float(v) for k, v in (results[0] if results else {}).items()})
    report = {
        "status": "ok",
        "objective": tracker.report(metrics),  # what train.py returns to a sweeper
        "metrics": metrics,
        "best_checkpoint": best,
        "best_score": float(trainer.checkpoint_callback.best_model_score)
        if trainer.checkpoint_callback and trainer.checkpoint_callback.best_model_score is not None
        else None,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "wall_time_s": round(time.perf_counter() - started, 2),
        "preprocessing_cache_hit": getattr(datamodule, "cache_hit", None),
        "runtime": runtime,
    }
    if trainer.is_global_zero:
        write_json(out / "metrics.json", report)
        log.info("results for %s\n%s", out, metrics_table(metrics))
    return report
