"""LightningDataModule for text classification from a CSV of (text, label) rows."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lstmkit.data.batches import RaggedDataset
from lstmkit.data.classified import ClassificationData
from lstmkit.data.csv import file_rows, read_csv
from lstmkit.data.labels import LabelMap, clean_labels
from lstmkit.data.ragged import Ragged
from lstmkit.data.split import SPLITS, check_coverage, column_split, stratified_split
from lstmkit.data.text_stream import StreamedText
from lstmkit.data.tokenization import TextEncoder, TokenizerConfig
from lstmkit.errors import DataError

log = logging.getLogger(__name__)


def normalise_whitespace(texts: pd.Series) -> pd.Series:
    """Collapse runs of whitespace (vectorised in Arrow) so near-identical copies compare equal."""
    arrow = pa.array(texts.array)  # the public Arrow interface of a pandas array
    arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arrow, r"\s+", " "))
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=texts.index)


class TextDataModule(ClassificationData):
    """Reads, validates, splits, fits the tokenizer on train, encodes (or loads the cache)."""

    kind = "text"
    preprocessor_files = ("tokenizer.json", "preprocessor.json", "meta.json")

    def __init__(
        self,
        path: str,
        text_column: str = "text",
        label_column: str = "label",
        split_column: str | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        drop_duplicates: bool = True,
        drop_empty: bool = False,
        tokenizer: dict[str, Any] | None = None,
        pool_factor: int = 50,
        stream_above_mb: float = 256,
        chunk_mb: float = 16,
        **common: Any,
    ) -> None:
        super().__init__(path, **common)
        self.text_column, self.label_column, self.split_column = (
            text_column,
            label_column,
            split_column,
        )
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.drop_duplicates, self.drop_empty = drop_duplicates, drop_empty
        self.tokenizer_cfg = TokenizerConfig(**(tokenizer or {}))
        self.pool_factor = pool_factor
        self.stream_above_mb, self.chunk_mb = float(stream_above_mb), float(chunk_mb)
        self.encoder: TextEncoder | None = None
        self.meta: dict[str, Any] = {}

    def _cache_config(self) -> dict[str, Any]:
        return {
            "columns": [self.text_column, self.label_column, self.split_column],
            "split": [self.val_fraction, self.test_fraction, self.seed],
            "clean": [self.drop_duplicates, self.drop_empty],
            "tokenizer": self.tokenizer_cfg.to_dict(),
        }

    # -- building and loading the cache ------------------------------------------------------
    def _read_clean(self) -> pd.DataFrame:
        cols = {"data.text_column": self.text_column, "data.label_column": self.label_column}
        if self.split_column:
            cols["data.split_column"] = self.split_column
        frame = read_csv(self.path, cols, self.encoding, self.delimiter)
        where = str(self.path)
        text = frame[self.text_column].astype("string")
        empty = (text.isna() | (text.str.strip() == "")).to_numpy()
        if empty.any():
            if not self.drop_empty:
                raise DataError(
                    f"{where}: text column {self.text_column!r} is empty at "
                    f"{file_rows(frame.index[empty])}. Remove those rows or set "
                    "data.drop_empty=true to skip them."
                )
            log.warning("dropped %d rows with empty text", int(empty.sum()))
        frame = frame.loc[~empty].copy()
        frame[self.text_column] = text[~empty]
        frame[self.label_column] = clean_labels(frame, self.label_column, where)
        self.meta["rows_read"] = int(len(empty))
        self.meta["empty_dropped"] = int(empty.sum())
        dup = 0
        if self.drop_duplicates:
            dup_mask = normalise_whitespace(frame[self.text_column]).duplicated().to_numpy()
            dup = int(dup_mask.sum())
            frame = frame.loc[~dup_mask]
        self.meta["duplicates_dropped"] = dup
        log.info("dropped %d duplicate texts (whitespace-normalised) before splitting", dup)
        return frame.reset_index(drop=True)

    def _build(self, out: Path) -> None:
        if self.path.stat().st_size > self.stream_above_mb * (1 << 20):
            log.info("%s is over %g MB: reading it in chunks", self.path, self.stream_above_mb)
            encoder, labels, meta = self._streamed().build(out)
        else:
            encoder, labels, meta = self._build_in_memory(out)
        encoder.save(out)
        (out / "preprocessor.json").write_text(
            json.dumps(self._preprocessor_spec(labels, encoder), indent=2)
        )
        meta = {**meta, "vocab_size": encoder.vocab_size}
        (out / "meta.json").write_text(json.dumps(meta, indent=2))

    def _streamed(self) -> StreamedText:
        return StreamedText(
            self.path,
            self.text_column,
            self.label_column,
            self.split_column,
            (self.val_fraction, self.test_fraction),
            self.seed,
            self.drop_duplicates,
            self.drop_empty,
            self.tokenizer_cfg,
            (self.encoding, self.delimiter),
            self.chunk_mb,
        )

    def _build_in_memory(self, out: Path) -> tuple[TextEncoder, LabelMap, dict[str, Any]]:
        frame = self._read_clean()
        where = str(self.path)
        if self.split_column:
            index = column_split(frame, self.split_column, where)
        else:
            codes = pd.factorize(frame[self.label_column])[0]
            index = stratified_split(codes, self.val_fraction, self.test_fraction, self.seed)
        labels = LabelMap.fit(
            frame[self.label_column].iloc[index["train"]], where, self.label_column
        )
        texts = pa.array(frame[self.text_column], type=pa.string())
        encoder, encoded = TextEncoder.fit_encode(self.tokenizer_cfg, texts, index["train"])
        counts = {}
        for split in SPLITS:
            y = labels.encode(frame[self.label_column].iloc[index[split]], split, where)
            encoded.take(index[split]).save(out / split)
            np.save(out / f"{split}.labels.npy", y)
            counts[split] = len(y)
        check_coverage(frame[self.label_column], index, where, self.label_column)
        return encoder, labels, {**self.meta, "counts": counts}

    def _preprocessor_spec(self, labels: LabelMap, encoder: TextEncoder) -> dict[str, Any]:
        """What predict needs; the tokenizer settings as fitted (`auto` sizes decided)."""
        return {
            "kind": "text",
            "text_column": self.text_column,
            "label_column": self.label_column,
            "labels": labels.names,
            "tokenizer": encoder.cfg.to_dict(),
        }

    def _load(self, folder: Path) -> None:
        spec = json.loads((folder / "preprocessor.json").read_text())
        self.meta = json.loads((folder / "meta.json").read_text())
        self.labels = LabelMap(spec["labels"])
        self.encoder = TextEncoder.load(TokenizerConfig(**spec["tokenizer"]), folder)
        for split in SPLITS:
            inputs = Ragged.load(folder / split)
            targets = np.load(folder / f"{split}.labels.npy", mmap_mode="r")
            self.splits[split] = RaggedDataset(inputs, targets)
        counts = {s: len(d) for s, d in self.splits.items()}
        log.info(
            "splits %s, vocabulary %d, classes %s",
            counts,
            self.encoder.vocab_size,
            self.labels.names,
        )

    # -- what the model and the run need ------------------------------------------------------
    def model_kwargs(self) -> dict[str, Any]:
        """Sizes the network must match: passed to `instantiate(cfg.model, **kwargs)`."""
        assert self.encoder is not None and self.labels is not None, "call setup() first"
        return {"vocab_size": self.encoder.vocab_size, "num_classes": len(self.labels.names)}
