"""Class labels <-> integer ids, fitted on the training split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmkit.data.csv import file_rows
from lstmkit.data.ids import warn_variants
from lstmkit.errors import DataError


def clean_labels(frame: pd.DataFrame, column: str, path: str) -> pd.Series:
    """Stripped labels as strings; a missing label is an error that names its lines, and labels
    that differ only by case ("Sport", "sport") are named in a warning."""
    labels = frame[column]
    missing = labels.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{path}: label column {column!r} is empty at {file_rows(frame.index[missing])}. "
            "Fill in or remove those rows."
        )
    labels = labels.astype("string").str.strip()
    warn_variants(labels, path, column, "labels")
    return labels


class LabelMap:
    """Sorted class names; id i is `names[i]`."""

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self._index = {n: i for i, n in enumerate(self.names)}

    @classmethod
    def fit(cls, train_labels: pd.Series, path: str, column: str) -> LabelMap:
        names = sorted(train_labels.unique().tolist())
        if len(names) < 2:
            raise DataError(
                f"{path}: the training split of label column {column!r} holds a single class "
                f"({names[0]!r}); a classifier needs at least two."
            )
        return cls(names)

    def encode(self, labels: pd.Series, split: str, path: str) -> np.ndarray:
        unknown = sorted(set(labels.unique().tolist()) - set(self._index))
        if unknown:
            raise DataError(
                f"{path}: label(s) {unknown} appear in the {split} split but never in train, so "
                "the model cannot learn them. Move such rows into train or drop them."
            )
        return labels.map(self._index).to_numpy(dtype=np.int64)
