"""Keep the untrained anchor when no trained epoch beats it on validation.

An anchored forecaster (`model.anchor`) with its output layer at zero forecasts the
seasonal-naive (or naive) values, exponentially smoothed over past seasons when its alpha is
below 1 (`models/smoothing.py`). On a short series a trained network can end up worse than
that on every validation epoch; the run then keeps the anchor: the best checkpoint's output
layer is zeroed, so test, predict and ONNX export all use the anchor. This is a choice made
on validation, like picking the best epoch, and metrics.json says it was made.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lstmkit.atomic import atomic_path
from lstmkit.callbacks.best_metric import BestMetric

log = logging.getLogger(__name__)
HEAD = ("net.head.weight", "net.head.bias")
PREFIX = "val/anchor_"


def rewrite_weights(
    trainer: L.Trainer, path: Path, tensors: dict[str, torch.Tensor | None]
) -> None:
    """Replace tensors of a checkpoint's state_dict (None: zero it) on rank 0, atomically;
    every rank waits, so all of them then read the rewritten file."""
    if trainer.is_global_zero:
        state = torch.load(path, map_location="cpu", weights_only=True)
        for key, value in tensors.items():
            if value is None:
                state["state_dict"][key].zero_()
            else:
                state["state_dict"][key] = value
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    trainer.strategy.barrier()


def keep_anchor(
    trainer: L.Trainer, checkpoint: ModelCheckpoint | None, tracker: BestMetric
) -> dict[str, Any] | None:
    """Zero the best checkpoint's output layer if the anchor's val loss is lower than the
    best epoch's; returns what metrics.json records about the choice (None: nothing logged)."""
    logged = trainer.callback_metrics
    if PREFIX + "loss" not in logged or checkpoint is None or not checkpoint.best_model_path:
        return None
    if checkpoint.monitor != "val/loss" or checkpoint.best_model_score is None:
        return None  # another monitor: the anchor has no score on its scale
    anchor, trained = float(logged[PREFIX + "loss"]), float(checkpoint.best_model_score)
    kept = anchor < trained
    choice = {"kept": "anchor" if kept else "trained", "val_loss": anchor, "trained": trained}
    if not kept:
        return choice
    path = Path(checkpoint.best_model_path)
    rewrite_weights(trainer, path, {key: None for key in HEAD})  # None: zeroed
    # the val scores of what the run now keeps (val/loss from val/anchor_loss, and so on);
    # the baselines' val scores stay beside them
    tracker.at_best = tracker.at_best | {
        f"val/{k.removeprefix(PREFIX)}": float(v) for k, v in logged.items() if k.startswith(PREFIX)
    }
    if tracker.metric in tracker.at_best:
        tracker.best = tracker.at_best[tracker.metric]
    log.warning(
        "no trained epoch beat the untrained anchor on validation (val/loss %.4g vs best epoch "
        "%.4g): keeping the anchor (the (seasonal) naive forecast, smoothed if its alpha < 1); "
        "%s now holds it",
        anchor,
        trained,
        path,
    )
    return choice


def recalibrate_kept_anchor(
    trainer: L.Trainer, task: L.LightningModule, datamodule: L.LightningDataModule, path: str
) -> None:
    """Widen a kept anchor's quantile intervals again, on validation, for the anchored network.

    The offsets in the checkpoint were fitted to the trained epoch's forecasts; the zeroed
    head forecasts other intervals, so the validation pass calibrates them anew (the task
    widens on every validation epoch) and the new offsets are written into the checkpoint.
    """
    trainer.validate(task, datamodule=datamodule, ckpt_path=path, verbose=False)
    widen = cast(torch.Tensor, getattr(task, "net").widen)  # noqa: B009 (a buffer)
    rewrite_weights(trainer, Path(path), {"net.widen": widen.detach().cpu().clone()})
    log.info("kept anchor: its intervals were widened again on validation (%s)", widen.tolist())
