"""Optimizer and LR-scheduler wiring shared by every task."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import lightning as L
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


class ClipWhenOver(L.LightningModule):
    """Norm clipping that leaves gradients alone when they are under the limit (on CPU).

    torch's `clip_grad_norm_` multiplies every gradient by min(1, limit / norm) at every step,
    a read and a write of all of them even when the factor is 1 (for the BBC model, 2.3M
    gradients, most of them the embedding's). On CPU the norm is read on the host anyway,
    so the multiply runs only when it changes something (the same numbers); on an accelerator
    reading the norm would stall the queue, and Lightning's own clipping runs.
    """

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        if not gradient_clip_val or gradient_clip_algorithm not in (None, "norm"):
            return super().configure_gradient_clipping(
                optimizer, gradient_clip_val, gradient_clip_algorithm
            )
        if self.device.type != "cpu":
            return super().configure_gradient_clipping(optimizer, gradient_clip_val, "norm")
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not params:
            return None
        norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        # torch's factor is limit / (norm + 1e-6), clamped to 1: below that it is exactly 1
        if not float(norm) + 1e-6 <= gradient_clip_val:  # NaN and inf clip, as in torch
            torch.nn.utils.clip_grads_with_norm_(params, gradient_clip_val, norm)
        return None
