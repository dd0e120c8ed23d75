"""Train/val/test splits: seeded and stratified, or taken from a split column."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError, DataError

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Split positions per class so each split keeps the class proportions.

    Each class keeps at least one example in train; fractions are rounded per class.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"data.val_fraction ({val_fraction}) and data.test_fraction ({test_fraction}) must "
            "be in [0, 1) and sum to less than 1."
        )
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n = len(members)
        n_test = min(int(round(n * test_fraction)), n - 1)
        n_val = min(int(round(n * val_fraction)), n - 1 - n_test)
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    return {s: np.sort(np.concatenate(p)) for s, p in parts.items()}


def split_codes(values: pd.Series, column: str, path: str) -> np.ndarray:
    """0 / 1 / 2 for train / val / test (case-insensitive); a bad value names its line."""
    marks = values.astype("string").str.strip().str.lower()
    marks = marks.replace({"validation": "val", "valid": "val", "dev": "val"})
    bad = (~marks.isin(SPLITS) | marks.isna()).to_numpy(dtype=bool)
    if bad.any():
        first = values.index[bad][0]
        raise DataError(
            f"{path}: split column {column!r} holds {values.loc[first]!r} at line "
            f"{first + 2}; allowed values are train, val (or validation, valid, dev) and test."
        )
    codes = np.zeros(len(marks), dtype=np.int8)
    for i, split in enumerate(SPLITS):
        codes[(marks == split).to_numpy(dtype=bool)] = i
    return codes


def column_split(frame: pd.DataFrame, column: str, path: str) -> dict[str, np.ndarray]:
    """Use a user-given split column holding train / val / test (case-insensitive)."""
    codes = split_codes(frame[column], column, path)
    out = {s: np.flatnonzero(codes == i) for i, s in enumerate(SPLITS)}
    if len(out["train"]) == 0:
        raise DataError(f"{path}: split column {column!r} marks no rows as 'train'.")
    return out


def check_coverage(
    labels: pd.Series, index: dict[str, np.ndarray], where: str, column: str
) -> None:
    """An empty val split is an error (checkpoints and early stopping watch val metrics); a
    class missing from val or test is a warning, since its scores there will be absent."""
    if len(index["val"]) == 0:
        raise ConfigError(
            f"{where}: the val split is empty, but the run picks its best checkpoint and stops "
            "early on val metrics. Set data.val_fraction > 0 (e.g. 0.1), or mark val rows in "
            "the split column."
        )
    classes = set(labels.iloc[index["train"]].unique().tolist())
    for split in ("val", "test"):
        if len(index[split]) == 0:
            continue
        absent = sorted(classes - set(labels.iloc[index[split]].unique().tolist()))
        if absent:
            log.warning(
                "%s: class(es) %s of column %r have no example in the %s split (too rare for "
                "its fraction); their %s scores are not measured. Add examples or use a split "
                "column.",
                where,
                absent,
                column,
                split,
                split,
            )
