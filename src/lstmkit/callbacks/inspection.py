"""TensorBoard extras as callbacks (conf/callbacks/default.yaml), so tasks stay thin.

HParams with final metrics, a test confusion matrix with per-class precision / recall / F1,
and the learned embedding of the most frequent words in the projector. Each callback skips
itself when the run has no TensorBoard logger or the task does not fit (e.g. forecasting).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn

from lstmkit.atomic import write_json
from lstmkit.callbacks.best_metric import BestMetric
from lstmkit.callbacks.run_config import run_config
from lstmkit.data.ragged import value_counts

log = logging.getLogger(__name__)


def tensorboard(trainer: L.Trainer) -> TensorBoardLogger | None:
    """The run's TensorBoard logger on the main process, else None."""
    if not trainer.is_global_zero:
        return None
    return next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)


def flat_hparams(config: dict[str, Any], include: Iterable[str]) -> dict[str, Any]:
    """Scalar hyperparameters under the `include` prefixes, as TensorBoard's HParams can filter.

    `_target_: torch.optim.Adam` becomes `optimizer: Adam`; other `_..._` keys are dropped.
    """
    out: dict[str, Any] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "_target_":
                    out[path or "target"] = str(value).rsplit(".", 1)[-1]
                elif not str(key).startswith("_"):
                    walk(value, f"{path}.{key}" if path else str(key))
        elif node is None:
            out[path] = "null"
        elif isinstance(node, (bool, int, float, str)):
            out[path] = node
        else:
            out[path] = str(node)

    for prefix in include:
        node: Any = config
        for part in prefix.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            walk(node, prefix)
    return out


class HParamsSummary(L.Callback):
    """One HParams session per run: chosen hyperparameters plus final metrics (`hparams/...`).

    Only the session-start record is written (no experiment record), so TensorBoard builds the
    HParams table from all runs together: runs of different sweeps and tasks all show up.
    """

    def __init__(self, include: Iterable[str] = ("model", "optimizer", "data.batch_size")) -> None:
        self.include = list(include)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        logger = tensorboard(trainer)
        if logger is None:
            return
        from torch.utils.tensorboard.summary import hparams

        config = run_config(trainer) or dict(pl_module.hparams)
        params = flat_hparams(config, self.include)
        _, session_start, _ = hparams(params, {})
        logger.experiment._get_file_writer().add_summary(session_start)

    def _write(self, trainer: L.Trainer, prefix: str) -> None:
        logger = tensorboard(trainer)
        if logger is None:
            return
        values = {
            k: float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith(prefix) and v.numel() == 1
        }
        # Trainer.callbacks is set in __init__ by a connector, not declared on the class
        for cb in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(cb, BestMetric) and cb.best is not None:
                values[f"best_{cb.metric}"] = cb.best
        for key, value in values.items():
            logger.experiment.add_scalar(f"hparams/{key}", value, trainer.global_step)
        logger.experiment.flush()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, "val/")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, "test/")


def per_class_scores(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a (true x predicted) count matrix."""
    tp = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def confusion_figure(confusion: np.ndarray, names: list[str]) -> Any:
    """A row-normalised confusion matrix with counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = 2.5 + 0.6 * len(names)
    fig, ax = plt.subplots(figsize=(size, size), constrained_layout=True)
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(
                j,
                i,
                str(int(confusion[i, j])),
                ha="center",
                va="center",
                color="white" if rates[i, j] > 0.5 else "black",
                fontsize=8,
            )
    return fig


class ClassificationReport(L.Callback):
    """After test: confusion-matrix image, per-class precision / recall / F1 (scalars + table).

    Also written to `test_per_class.json` in the run folder for readers without TensorBoard.
    Under DDP each rank sees its share of the test set (every example exactly once); the
    confusion counts are summed over the ranks, so the report covers the whole test set.
    """

    def _applies(self, pl_module: L.LightningModule) -> bool:
        return bool(getattr(pl_module.hparams, "num_classes", None))

    @torch.no_grad()
    def confusion(self, trainer: L.Trainer, pl_module: L.LightningModule, n: int) -> np.ndarray:
        """This rank's (true x predicted) counts, summed over all ranks (a collective: every
        rank calls it, a rank without test batches with zeros)."""
        counts = torch.zeros(n * n, dtype=torch.long)
        if self._preds:
            preds, targets = torch.cat(self._preds), torch.cat(self._targets)
            counts = torch.bincount(targets * n + preds, minlength=n * n)
        total = trainer.strategy.reduce(counts.to(pl_module.device), reduce_op="sum")
        return total.cpu().numpy().reshape(n, n)

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._preds: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not self._applies(pl_module) or not isinstance(batch, dict):
            return
        with torch.no_grad():  # test_step returns no logits: one more forward, test set only
            logits = pl_module(batch["inputs"], batch["lengths"])
        self._preds.append(logits.argmax(dim=-1).cpu())
        self._targets.append(batch["targets"].cpu())

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._applies(pl_module) or not hasattr(self, "_preds"):
            return
        n = int(pl_module.hparams["num_classes"])
        names = list(pl_module.hparams.get("class_names") or range(n))
        names = [str(c) for c in names]
        confusion = self.confusion(trainer, pl_module, n)
        scores = per_class_scores(confusion)
        table = {name: {k: float(v[i]) for k, v in scores.items()} for i, name in enumerate(names)}
        if trainer.is_global_zero:
            write_json(
                Path(trainer.default_root_dir) / "test_per_class.json",
                {"classes": table, "confusion": confusion.tolist()},
            )
        logger = tensorboard(trainer)
        if logger is None:
            return
        step = trainer.global_step
        logger.experiment.add_figure(
            "test/confusion_matrix", confusion_figure(confusion, names), step, close=True
        )
        for name, row in table.items():
            for metric in ("precision", "recall", "f1"):
                logger.experiment.add_scalar(f"test_per_class/{name}/{metric}", row[metric], step)
        lines = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        lines += [
            f"| {c} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
            f"{int(r['support'])} |"
            for c, r in table.items()
        ]
        logger.experiment.add_text("test/per_class", "\n".join(lines), step)
        logger.experiment.flush()


class EmbeddingProjector(L.Callback):
    """After fit: the learned embedding of the `top_k` most frequent training tokens.

    Frequencies are counted from the encoded training split; [PAD] and [UNK] are left out.
    """

    def __init__(self, top_k: int = 500) -> None:
        self.top_k = top_k

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        logger = tensorboard(trainer)
        dm = getattr(trainer, "datamodule", None)
        encoder = getattr(dm, "encoder", None)
        splits = getattr(dm, "splits", {})
        embedding = next((m for m in pl_module.modules() if isinstance(m, nn.Embedding)), None)
        if logger is None or encoder is None or embedding is None or "train" not in splits:
            return
        counts = value_counts(splits["train"].inputs.values, embedding.num_embeddings)
        counts[:2] = 0  # [PAD], [UNK]
        top = np.argsort(-counts, kind="stable")[: self.top_k]
        top = top[counts[top] > 0]
        if len(top) == 0:
            return
        words = encoder.decode(top)
        vectors = embedding.weight.detach()[torch.as_tensor(top)].cpu()
        logger.experiment.add_embedding(
            vectors, metadata=words, tag="word_embedding", global_step=trainer.global_step
        )
        log.info("embedding projector: %d most frequent tokens", len(top))
