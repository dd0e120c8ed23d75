"""`ensemble.neighbours`: whether, and how much, a fold ensemble listens to nearest neighbours.

On tiny aligned sets one nearest neighbour in Euclidean distance can beat every network we
tried (ArrowHead, docs/shape.md). The fold members already give an out-of-fold prediction for
every training sequence, so the choice is made there, never on test: for fold i the neighbour
member remembers only the series member i trained on, exactly as the network did, and the
networks' share `weight` (0.1 ... 0.9, or 1.0: no member) and the sharpness `beta` are the pair
with the lowest out-of-fold log loss. The saved member remembers every training sequence.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from lstmkit.data.base import CsvDataModule
from lstmkit.data.batches import RaggedDataset
from lstmkit.data.ragged import Ragged
from lstmkit.errors import ConfigError
from lstmkit.inference.batching import probabilities
from lstmkit.models.neighbours import FAR, NearestNeighbours

log = logging.getLogger(__name__)
BETAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
MAX_SERIES, MAX_VALUES = 20_000, 50_000_000  # an exact search: [batch, series] distances
ROWS = 512  # the choice's distance matrix is built this many sequences at a time
SHARES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)  # the networks'; 1.0 = no member


@dataclass
class Pool:
    """Every training sequence once, as the fold members validated them, in fold order."""

    inputs: torch.Tensor  # [N, T, width], zero-padded
    lengths: torch.Tensor  # [N]
    labels: torch.Tensor  # [N]
    fold: np.ndarray  # [N]: the member that validated it
    networks: np.ndarray  # [N, C]: that member's probabilities


@dataclass
class Choice:
    """What was chosen and why (logged, and saved under `ensemble.neighbours` in metrics.json)."""

    reason: str
    member: NearestNeighbours | None = None
    weight: float = 1.0
    fold_members: list[NearestNeighbours] = field(default_factory=list)  # out-of-fold scoring
    summary: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any] | None:
        """The `neighbours` entry of the ensemble's model.json (None: no member)."""
        if self.member is None:
            return None
        m = self.member
        count = int(m.memory.shape[0])
        sizes = {"count": count, "steps": m.steps, "width": m.width}
        return sizes | {"weight": self.weight, "beta": m.beta, "scale": m.scale}


def setting(cfg: DictConfig) -> bool | None:
    """`ensemble.neighbours`: null (auto), true or false; anything else is refused."""
    value = (cfg.get("ensemble") or {}).get("neighbours")
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"ensemble.neighbours must be null, true or false, got {value!r}.")
    return value


def pool(nets: list[nn.Module], datamodules: list[CsvDataModule]) -> Pool:
    """The members' validation folds side by side, with each member's probabilities on its own."""
    parts = [cast(RaggedDataset, dm.splits["val"]) for dm in datamodules]
    steps = max(int(part.inputs.lengths.max(initial=0)) for part in parts)
    inputs, lengths, labels, folds, members = [], [], [], [], []
    for i, (net, part) in enumerate(zip(nets, parts, strict=True)):
        ragged: Ragged = part.inputs
        padded, mask = ragged.pad(np.arange(len(ragged)), max_length=steps)
        inputs.append(torch.from_numpy(np.ascontiguousarray(padded, dtype=np.float32)))
        lengths.append(torch.from_numpy(mask.sum(1).astype(np.int64)))
        labels.append(torch.from_numpy(np.asarray(part.targets, dtype=np.int64)))
        folds.append(np.full(len(ragged), i))
        members.append(probabilities(net, ragged))
    return Pool(
        torch.cat(inputs),
        torch.cat(lengths),
        torch.cat(labels),
        np.concatenate(folds),
        np.concatenate(members),
    )


def choose(cfg: DictConfig, data: Pool, num_classes: int) -> Choice:
    """Off, or the member with the networks' share and sharpness of lowest out-of-fold loss."""
    wanted = setting(cfg)
    if wanted is False:
        return Choice("ensemble.neighbours=false")
    lengths = data.lengths.unique()
    if wanted is None and len(lengths) > 1:
        return Choice(
            f"null: the training sequences differ in length ({int(lengths.min())} to "
            f"{int(lengths.max())} steps), so Euclidean neighbours would compare unlike steps"
        )
    count, steps, width = data.inputs.shape
    if count > MAX_SERIES or count * steps * width > MAX_VALUES:
        why = (
            f"{count} training sequences of {steps} x {width} values: more than an exact "
            f"neighbour search keeps ({MAX_SERIES} sequences, {MAX_VALUES:.0e} values)"
        )
        if wanted:
            log.warning("ensemble.neighbours=true ignored: %s", why)
        return Choice(why)
    everyone = NearestNeighbours(count, steps, width, num_classes, beta=1.0, scale=1.0)
    everyone.store(data.inputs, data.lengths, data.labels)
    nearest_other, out_of_fold = _distances(everyone, data)
    scale = float(nearest_other.median())
    scale = scale if scale > 0 else float(nearest_other.mean()) or 1.0
    targets = data.labels.numpy()
    networks = np.log(np.clip(data.networks, 1e-12, 1.0))
    shares = SHARES[1:] if wanted else SHARES
    best: tuple[float, float, float] | None = None  # loss, share, beta
    for beta in BETAS:
        near = torch.log_softmax(-beta * out_of_fold / scale, dim=-1).numpy()
        for share in shares:
            loss = _log_loss(_blend(networks, near, share), targets)
            if best is None or loss < best[0] - 1e-9:  # ties keep the larger share
                best = (loss, share, beta)
    assert best is not None
    loss, share, beta = best
    near = torch.log_softmax(-beta * out_of_fold / scale, dim=-1).numpy()
    summary = {
        "weight": share,
        "beta": beta,
        "scale": scale,
        "out_of_fold": {
            "networks": _scores(networks, targets),
            "neighbours": _scores(near, targets),
            "blend": _scores(_blend(networks, near, share), targets),
        },
    }
    if share == 1.0:
        return Choice("the networks alone have the lowest out-of-fold loss", summary=summary)
    member = NearestNeighbours(count, steps, width, num_classes, beta, scale)
    member.store(data.inputs, data.lengths, data.labels)
    fold_members = []
    for i in range(int(data.fold.max()) + 1):
        keep = torch.from_numpy(data.fold != i)
        part = NearestNeighbours(int(keep.sum()), steps, width, num_classes, beta, scale)
        part.store(data.inputs[keep], data.lengths[keep], data.labels[keep])
        fold_members.append(part)
    why = "forced on" if wanted else "null: equal lengths"
    return Choice(why, member, share, fold_members, summary)


@torch.no_grad()
def _distances(everyone: NearestNeighbours, data: Pool) -> tuple[torch.Tensor, torch.Tensor]:
    """Each sequence's distance to its nearest other one [N], and to each class's nearest
    sequence outside its own fold [N, C], a block of rows at a time."""
    nearest, per_class = [], []
    for start in range(0, len(data.labels), ROWS):
        rows = slice(start, start + ROWS)
        distances = everyone.distances(data.inputs[rows], data.lengths[rows])
        own = torch.arange(distances.shape[0])
        itself = torch.zeros_like(distances)
        itself[own, own + start] = FAR
        nearest.append((distances + itself).amin(1))
        same_fold = torch.from_numpy(data.fold[rows, None] == data.fold[None, :])
        per_class.append(everyone.class_distances(distances + same_fold * FAR))
    return torch.cat(nearest), torch.cat(per_class)


def _blend(networks: np.ndarray, near: np.ndarray, share: float) -> np.ndarray:
    """log(share * p_networks + (1 - share) * p_neighbours), from log probabilities."""
    if share >= 1.0:
        return networks
    return np.logaddexp(networks + math.log(share), near + math.log(1.0 - share))


def _log_loss(log_probs: np.ndarray, targets: np.ndarray) -> float:
    return float(-log_probs[np.arange(len(targets)), targets].mean())


def _scores(log_probs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    accuracy = float((log_probs.argmax(1) == targets).mean())
    return {"loss": round(_log_loss(log_probs, targets), 6), "acc": round(accuracy, 6)}


def describe(choice: Choice) -> str:
    """One log line: the choice, and the out-of-fold scores behind it."""
    scores = choice.summary.get("out_of_fold")
    if not scores:
        return f"ensemble.neighbours: none ({choice.reason})"
    shown = ", ".join(f"{k} {v['acc']:.3f} / {v['loss']:.3f}" for k, v in scores.items())
    who = (
        f"networks {choice.weight:.1f}, neighbours {1 - choice.weight:.1f} "
        f"(beta {choice.summary['beta']:g})"
        if choice.member is not None
        else "none"
    )
    return f"ensemble.neighbours: {who}; {choice.reason}; out-of-fold acc / loss: {shown}"
