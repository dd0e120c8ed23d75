"""k stratified folds of the training sequences, for the cross-validated ensemble of tiny sets.

Member `fold` of a `folds`-fold ensemble validates on fold `fold` and trains on the others, so
k members together are validated on every training sequence once (docs/ensembles.md).
"""

from __future__ import annotations

import numpy as np

from lstmkit.errors import ConfigError


def check_fold(folds: int | None, fold: int | None) -> None:
    """`data.folds` and `data.fold` come together (the ensemble sets both for each member)."""
    if folds is None and fold is None:
        return
    if folds is None or fold is None or folds < 2 or not 0 <= fold < folds:
        raise ConfigError(
            f"data.folds={folds} and data.fold={fold}: give both, with folds >= 2 and "
            "0 <= fold < folds (or leave both null and set ensemble.folds instead)."
        )


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold number per position: each class, shuffled by `seed`, dealt round the folds.

    Each class starts where the last one stopped, so fold sizes differ by at most one and each
    fold keeps the class proportions (a class with fewer than `folds` members is absent from
    some folds).
    """
    if len(labels) < folds:
        raise ConfigError(
            f"ensemble.folds={folds} needs at least {folds} training sequences, got "
            f"{len(labels)}; use fewer folds or ensemble.folds=0."
        )
    rng = np.random.default_rng(seed)
    out = np.empty(len(labels), dtype=np.int64)
    start = 0
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        out[members] = (start + np.arange(len(members))) % folds
        start += len(members)
    return out


def fold_split(pool: np.ndarray, labels: np.ndarray, folds: int, fold: int, seed: int) -> dict:
    """Train / val positions of member `fold`, taken from `pool` (positions with `labels`)."""
    assigned = stratified_folds(labels, folds, seed)
    return {"train": pool[assigned != fold], "val": pool[assigned == fold]}
