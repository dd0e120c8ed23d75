"""Optimizer and LR-scheduler wiring shared by every task."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch


def configure(
    module: Any,
    optimizer: Callable[..., torch.optim.Optimizer],
    scheduler: dict[str, Any] | None,
    monitor: str,
) -> dict[str, Any]:
    """Build Lightning's `configure_optimizers` answer from config-made partials.

    `scheduler` is `{"fn": partial, "interval": "epoch"|"step", "monitor": str|None}` or None.
    A scheduler that takes `total_steps` (OneCycleLR) gets the trainer's estimate unless set.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    opt = optimizer(params)
    if opt.defaults.get("fused"):
        # Lightning will not clip gradients under mixed precision for an optimizer that says it
        # unscales them itself (fused ones do). Saying no costs nothing: bf16 has no scaler,
        # and an fp16 GradScaler then unscales before the step, as for any optimizer.
        # a private torch attribute (read by Lightning), absent from the Optimizer stubs
        opt._step_supports_amp_scaling = False  # type: ignore[attr-defined]
    if not scheduler or scheduler.get("fn") is None:
        return {"optimizer": opt}
    fn = scheduler["fn"]
    kwargs = {}
    if "total_steps" in inspect.signature(fn).parameters and "total_steps" not in getattr(
        fn, "keywords", {}
    ):
        kwargs["total_steps"] = int(module.trainer.estimated_stepping_batches)
    sched = fn(opt, **kwargs)
    config = {"scheduler": sched, "interval": scheduler.get("interval", "epoch")}
    if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
        config["monitor"] = scheduler.get("monitor") or monitor
    return {"optimizer": opt, "lr_scheduler": config}
