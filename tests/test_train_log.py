"""The training loss logged at log points: TensorBoard's step and epoch values are exact means."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.data import DataLoader

from lstmkit.models.classifier import RecurrentClassifier
from lstmkit.tasks.classification import ClassificationTask

SIZES = [4, 7, 3, 8, 5, 6, 2, 9]  # unequal batches: an unweighted mean would differ


class LossRecord(L.Callback):
    """Each training batch's own loss and size, as the task returned them."""

    def __init__(self) -> None:
        self.epochs: list[list[tuple[float, int]]] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epochs.append([])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.epochs[-1].append((float(outputs["loss"]), len(batch["targets"])))


def batches() -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [
        {
            "inputs": torch.randint(1, 50, (n, 6), generator=g),
            "lengths": torch.full((n,), 6),
            "targets": torch.randint(0, 3, (n,), generator=g),
        }
        for n in SIZES
    ]


def weighted_mean(pairs: list[tuple[float, int]]) -> float:
    return sum(loss * n for loss, n in pairs) / sum(n for _, n in pairs)


def fit(tmp_path: Path, every: int, epochs: int, **trainer_kwargs) -> tuple[LossRecord, dict]:
    torch.manual_seed(0)
    net = RecurrentClassifier(num_classes=3, vocab_size=50, embedding_dim=8, hidden_size=8)
    task = ClassificationTask(net, lambda p: torch.optim.Adam(p, lr=1e-2), num_classes=3)
    record = LossRecord()
    trainer = L.Trainer(
        max_epochs=epochs,
        log_every_n_steps=every,
        callbacks=[record],
        logger=TensorBoardLogger(tmp_path, name="", version=""),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **trainer_kwargs,
    )
    trainer.fit(task, DataLoader(batches(), batch_size=None))
    events = EventAccumulator(str(tmp_path)).Reload()
    scalars = {
        tag: [(e.step, e.value) for e in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
        if tag.startswith("train/")
    }
    return record, scalars


def test_epoch_value_is_the_mean_over_every_sample(tmp_path: Path) -> None:
    record, scalars = fit(tmp_path, every=3, epochs=2)
    expected = [weighted_mean(epoch) for epoch in record.epochs]
    assert [v for _, v in scalars["train/loss_epoch"]] == pytest.approx(expected, rel=1e-6)


def test_step_values_are_means_since_the_last_log_point(tmp_path: Path) -> None:
    record, scalars = fit(tmp_path, every=3, epochs=2)
    # Lightning writes at optimiser steps 2, 5, 8, 11, 14 (0-based); each point covers the steps
    # since the previous point of the same epoch (an epoch's end closes a span of its own)
    flat = [pair for epoch in record.epochs for pair in epoch]
    spans = [(0, 3), (3, 6), (8, 9), (9, 12), (12, 15)]
    expected = [(end - 1, weighted_mean(flat[start:end])) for start, end in spans]
    assert [s for s, _ in scalars["train/loss_step"]] == [s for s, _ in expected]
    assert [v for _, v in scalars["train/loss_step"]] == pytest.approx(
        [v for _, v in expected], rel=1e-6
    )


def test_an_epoch_cut_by_max_steps_still_counts_its_last_steps(tmp_path: Path) -> None:
    record, scalars = fit(tmp_path, every=50, epochs=3, max_steps=5)
    assert len(record.epochs[0]) == 5 and "train/loss_step" not in scalars
    (_, value), *_ = scalars["train/loss_epoch"]
    assert value == pytest.approx(weighted_mean(record.epochs[0]), rel=1e-6)
    assert {"train/acc", "train/f1"} <= set(scalars)  # the metrics too, not only on a last batch
