"""LightningDataModule for classifying labelled, variable-length multivariate sequences.

Input is a long-format CSV: one row per time step with a sequence id, a step order, feature
columns and the sequence's label. Each split becomes a Ragged array of float32 values
[N_total, F], so the text path's length-bucketed sampler and exact padded LSTM just work.
Features are standardised per column with statistics of the training sequences only.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch.utils.data import DataLoader

from lstmkit.data.augment import Augment, AugmentedDataset, augment_for
from lstmkit.data.batches import RaggedDataset
from lstmkit.data.classified import ClassificationData
from lstmkit.data.csv import file_rows, read_csv
from lstmkit.data.folds import check_fold, fold_split
from lstmkit.data.ids import warn_variants
from lstmkit.data.labels import LabelMap
from lstmkit.data.patches import patch, patch_size_for
from lstmkit.data.ragged import Ragged
from lstmkit.data.readers import group_sequences
from lstmkit.data.replicas import Replicas
from lstmkit.data.scalers import Scaler
from lstmkit.data.split import SPLITS, check_coverage, column_split, stratified_split
from lstmkit.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def sequence_labels(
    frame: pd.DataFrame, codes: np.ndarray, ids: pd.Index, column: str, where: str
) -> pd.Series:
    """One label per sequence; rows may repeat it or leave it empty, but may not disagree."""
    labels = frame[column].astype("string").str.strip()
    grouped = labels.groupby(codes)
    first = grouped.first().reindex(range(len(ids)))
    missing = first.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{where}: sequence id(s) {list(ids[missing][:5])} have no label in "
            f"column {column!r}. Give every sequence its label."
        )
    conflict = (grouped.nunique() > 1).reindex(range(len(ids)), fill_value=False).to_numpy()
    if conflict.any():
        raise DataError(
            f"{where}: sequence id(s) {list(ids[conflict][:5])} carry different "
            f"labels in column {column!r} on different rows; one label per sequence."
        )
    return first.reset_index(drop=True)


class SequenceDataModule(ClassificationData):
    """Reads, validates, splits by sequence, fits scalers on train, encodes (or loads the cache)."""

    kind = "sequences"

    def __init__(
        self,
        path: str,
        id_column: str = "series",
        step_column: str = "step",
        feature_columns: list[str] | None = None,
        label_column: str = "label",
        split_column: str | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        scaler: str = "standard",
        patch: int | None = None,
        augment: bool | None = None,
        augment_jitter: float = 0.05,
        augment_scale: float = 0.1,
        epoch_repeats: int | None = None,
        pool_factor: int = 50,
        folds: int | None = None,
        fold: int | None = None,
        **common: Any,
    ) -> None:
        super().__init__(path, **common)
        check_fold(folds, fold)
        self.folds, self.fold = folds, fold
        if epoch_repeats is not None and epoch_repeats < 1:
            raise ConfigError(f"data.epoch_repeats must be >= 1, got {epoch_repeats}.")
        self.epoch_repeats = epoch_repeats
        self.id_column, self.step_column, self.label_column = id_column, step_column, label_column
        self.feature_columns = list(feature_columns) if feature_columns else None
        self.split_column = split_column
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.scaler_kind = scaler
        if patch is not None and patch < 1:
            raise ConfigError(f"data.patch must be >= 1 (or null), got {patch}.")
        self.patch = patch
        self.augment_setting = augment
        self.augment_sizes = Augment(augment_jitter, augment_scale)
        self.augment: Augment | None = None
        self.pool_factor = pool_factor
        self.num_features = 0
        self.patch_size = 1  # the patch size in use, once set up (preprocessor.json)

    def _cache_config(self) -> dict[str, Any]:
        return {
            "columns": [self.id_column, self.step_column, self.label_column, self.split_column],
            "features": self.feature_columns,
            "split": [self.val_fraction, self.test_fraction, self.seed],
            "scaler": self.scaler_kind,
            "patch": self.patch,
            "augment": [self.augment_setting, self.augment_sizes.to_dict()],
            "folds": [self.folds, self.fold],
        }

    def _build(self, out: Path) -> None:
        where = str(self.path)
        cols = {
            "data.id_column": self.id_column,
            "data.step_column": self.step_column,
            "data.label_column": self.label_column,
        }
        cols |= {f"data.feature_columns[{i}]": c for i, c in enumerate(self.feature_columns or [])}
        if self.split_column:
            cols["data.split_column"] = self.split_column
        frame = read_csv(self.path, cols, self.encoding, self.delimiter)
        features = self.feature_columns or [c for c in frame.columns if c not in set(cols.values())]
        if not features:
            raise DataError(f"{where}: no feature columns besides {sorted(set(cols.values()))}.")
        rows = group_sequences(frame, self.id_column, self.step_column, features, where)
        frame, codes, ids, steps, values = rows.frame, rows.codes, rows.ids, rows.steps, rows.values
        nan = np.isnan(np.c_[values, steps])
        if nan.any():
            rows = nan.any(axis=1)
            raise DataError(
                f"{where}: missing value(s) at {file_rows(frame.index[rows])}; every "
                f"step needs all of {features} and {self.step_column!r}."
            )
        labels = sequence_labels(frame, codes, ids, self.label_column, where)
        warn_variants(labels, where, self.label_column, "labels")
        if self.split_column:
            per_sequence = frame.groupby(codes)[self.split_column].first().reset_index(drop=True)
            index = column_split(per_sequence.to_frame(), self.split_column, where)
            if len(index["val"]) == 0 and self.val_fraction > 0:  # official train/test only
                train = index["train"]
                inner = stratified_split(
                    pd.factorize(labels.iloc[train])[0], self.val_fraction, 0.0, self.seed
                )
                index["val"], index["train"] = train[inner["val"]], train[inner["train"]]
        else:
            index = stratified_split(
                pd.factorize(labels)[0], self.val_fraction, self.test_fraction, self.seed
            )
        fit_on = index["train"]
        if self.folds is not None and self.fold is not None:  # a cross-validated member
            # one preprocessing for every member (the ensemble has one preprocessor/): fitted on
            # all training sequences; each member then validates on its own fold of them
            fit_on = np.sort(np.concatenate([index["train"], index["val"]]))
            codes_of = pd.factorize(labels.iloc[fit_on])[0]
            index |= fold_split(fit_on, codes_of, self.folds, self.fold, self.seed)
            log.info(
                "fold %d of %d: %d training, %d validation sequences",
                self.fold,
                self.folds,
                len(index["train"]),
                len(index["val"]),
            )
        label_map = LabelMap.fit(labels.iloc[fit_on], where, self.label_column)
        lengths = np.bincount(codes, minlength=len(ids))
        whole = Ragged.from_lengths(values, lengths)
        train_rows = np.repeat(np.isin(np.arange(len(ids)), fit_on), lengths)
        one = np.zeros(len(values), dtype=np.int64)  # a single group: statistics per feature
        scaler = Scaler.fit(self.scaler_kind, values[train_rows], one[train_rows], 1)
        size, why = patch_size_for(self.patch, lengths[fit_on])
        log.info("patch %d: %d step(s) read as one input step (%s)", size, size, why)
        augment, why = augment_for(self.augment_setting, len(fit_on), self.augment_sizes)
        log.info("augment %s (%s)", augment.to_dict() if augment else "off", why)
        scaled = Ragged.from_lengths(*patch(scaler.transform(values, one), lengths, size))
        counts = {}
        for split in SPLITS:
            scaled.take(index[split]).save(out / split)
            y = label_map.encode(labels.iloc[index[split]], split, where)
            np.save(out / f"{split}.labels.npy", y)
            np.save(out / f"{split}.ids.npy", np.asarray(ids[index[split]], dtype=str))
            counts[split] = len(y)
        check_coverage(labels, index, where, self.label_column)
        spec = {
            "kind": "sequences",
            "id_column": self.id_column,
            "step_column": self.step_column,
            "feature_columns": features,
            "label_column": self.label_column,
            "labels": label_map.names,
            "scaler": scaler.to_dict(),
            "patch": size,
            "augment": augment.to_dict() if augment else None,  # training only
        }
        (out / "preprocessor.json").write_text(json.dumps(spec, indent=2))
        meta = {
            "counts": counts,
            "features": len(features),
            "rows_read": len(frame),
            "length_range": [int(whole.lengths.min()), int(whole.lengths.max())],
        }
        (out / "meta.json").write_text(json.dumps(meta, indent=2))

    def _load(self, folder: Path) -> None:
        spec = json.loads((folder / "preprocessor.json").read_text())
        self.labels = LabelMap(spec["labels"])
        self.patch_size = int(spec["patch"])
        self.num_features = len(spec["feature_columns"]) * self.patch_size
        given = spec.get("augment")  # null: off; else the sizes it trained with
        self.augment = Augment(**given) if given else None
        for split in SPLITS:
            inputs = Ragged.load(folder / split)
            targets = np.load(folder / f"{split}.labels.npy")
            repeats = self.epoch_repeats or 1  # null: the training budget decides (budget.py)
            if split == "train" and repeats > 1:  # tiny sets: fewer, longer epochs
                tile = np.tile(np.arange(len(targets)), repeats)
                inputs, targets = inputs.take(tile), targets[tile]
            self.splits[split] = RaggedDataset(inputs, targets)
        counts = {s: len(d) for s, d in self.splits.items()}
        log.info(
            "sequences %s, %d features, classes %s", counts, self.num_features, self.labels.names
        )

    def _loader(self, split: str, train: bool, replicas: Replicas) -> DataLoader:
        """Training batches get the augmentation; validation and test stay as read."""
        if not (train and self.augment):
            return super()._loader(split, train, replicas)
        plain = self.splits[split]
        self.splits[split] = AugmentedDataset(
            plain, self.augment, [self.seed, replicas.rank, replicas.epoch]
        )
        try:
            return super()._loader(split, train, replicas)
        finally:
            self.splits[split] = plain

    # -- what the model and the run need ------------------------------------------------------
    def model_kwargs(self) -> dict[str, Any]:
        """Numeric inputs: the classifier gets an input projection in place of an embedding, and
        the patch size, so a convolutional branch can read the raw steps inside the patches."""
        assert self.labels is not None, "call setup() first"
        return {
            "input_size": self.num_features,
            "num_classes": len(self.labels.names),
            "patch": self.patch_size,
        }
