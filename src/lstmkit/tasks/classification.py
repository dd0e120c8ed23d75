"""LightningModule for sequence classification (text or numeric sequences)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from lstmkit.tasks.optim import ClipWhenOver, configure
from lstmkit.tasks.train_log import TrainLossLog

STAGES = ("train", "val", "test")


class ClassificationTask(ClipWhenOver, TrainLossLog):
    """Cross-entropy (optional label smoothing, class weights), accuracy and macro-F1 per stage."""

    class_weight: torch.Tensor | None  # a buffer (None without class weights)

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        num_classes: int,
        scheduler: dict[str, Any] | None = None,
        class_names: list[str] | None = None,
        class_counts: list[int] | None = None,
        label_smoothing: float = 0.0,
        class_weights: str | None = None,
        monitor: str = "val/acc",
        monitor_mode: str = "max",
    ) -> None:
        super().__init__()
        # plain containers only, so checkpoints load with torch.load(weights_only=True)
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net = net
        self.optimizer_fn, self.scheduler_cfg = optimizer, scheduler
        self.monitor = monitor
        weights = None
        if class_weights == "balanced":
            counts = torch.tensor(class_counts, dtype=torch.float32).clamp(min=1)
            weights = counts.sum() / (len(counts) * counts)
        elif class_weights not in (None, "none"):
            raise ValueError(
                f"task.class_weights must be null or 'balanced', got {class_weights!r}"
            )
        self.register_buffer("class_weight", weights, persistent=False)
        self.label_smoothing = label_smoothing
        # keyed "<stage>_metrics": a bare "train" key would shadow nn.Module.train
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_metrics": MetricCollection(
                    {
                        "acc": MulticlassAccuracy(num_classes, average="micro"),
                        "f1": MulticlassF1Score(num_classes, average="macro"),
                    },
                    prefix=f"{stage}/",
                )
                for stage in STAGES
            }
        )

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.net(inputs, lengths)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits = self(batch["inputs"], batch["lengths"])
        targets = batch["targets"]
        loss = F.cross_entropy(
            logits, targets, weight=self.class_weight, label_smoothing=self.label_smoothing
        )
        metrics = cast(MetricCollection, self.metrics[f"{stage}_metrics"])
        metrics.update(logits.detach(), targets)
        batch_size = targets.size(0)
        if stage == "train":
            self.log_train_loss(loss, batch_size)
        else:
            self.log(
                f"{stage}/loss",
                loss,
                on_epoch=True,
                prog_bar=True,
                batch_size=batch_size,
                sync_dist=True,
            )
        # logging a Metric moves it to the batch's device on every call (a walk over its
        # states); its value is computed once at the epoch's end either way, so a training
        # epoch logs it on its last batch only
        if stage != "train" or self.epoch_ends_here():
            self.log_dict(
                metrics,
                on_step=False,
                on_epoch=True,
                prog_bar=stage != "train",
                batch_size=batch_size,
            )
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return torch.softmax(self(batch["inputs"], batch["lengths"]), dim=-1)

    # a plain dict: Lightning's return type is a union of TypedDicts it does not match
    def configure_optimizers(self) -> dict[str, Any]:  # type: ignore[override]
        return configure(self, self.optimizer_fn, self.scheduler_cfg, self.monitor)
