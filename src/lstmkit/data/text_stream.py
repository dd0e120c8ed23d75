"""Build the text cache from a CSV too big to hold in memory: three passes over its chunks.

1. scan: check each row, keep one small record per row (label, split mark, a hash of the
   whitespace-normalised text), drop empties and duplicates, split exactly as the in-memory
   path does;
2. count: tokenise the training rows of each chunk and add up the token counts, then choose
   the vocabulary (or train a `tokenizers` model from the chunks' training texts);
3. encode: tokenise every kept row again and append it to its split's arrays on disk.

Memory follows the chunk (`data.chunk_mb`) plus about 30 bytes per row, never the texts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lstmkit.data import arrow_words
from lstmkit.data.csv import file_rows, read_csv_chunks
from lstmkit.data.ids import warn_variants
from lstmkit.data.labels import LabelMap
from lstmkit.data.ragged import RaggedWriter
from lstmkit.data.split import SPLITS, check_coverage, split_codes, stratified_split
from lstmkit.data.tokenization import (
    PAD,
    UNK,
    TextEncoder,
    TokenizerConfig,
    build_tokenizer,
    sized,
)
from lstmkit.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class Scan:
    """One small record per row of the file, and the rows kept for training."""

    label: list[np.ndarray] = field(default_factory=list)  # id into `names`, per chunk
    digest: list[np.ndarray] = field(default_factory=list)  # hash of the normalised text
    empty: list[np.ndarray] = field(default_factory=list)
    split: list[np.ndarray] = field(default_factory=list)  # 0/1/2 from a split column
    names: dict[str, int] = field(default_factory=dict)  # label -> id, first seen first

    def label_ids(self, labels: pa.Array) -> np.ndarray:
        """Each label's id, new labels numbered in order of first appearance."""
        encoded = pc.dictionary_encode(labels)
        uniques = encoded.dictionary.to_pylist()
        ids = np.asarray([self.names.setdefault(n, len(self.names)) for n in uniques], np.int32)
        return ids[encoded.indices.to_numpy(zero_copy_only=False)]


def _arrow(column: pd.Series) -> pa.Array:
    """The Arrow array behind a column read by `read_csv_chunks` (no copy)."""
    return pa.array(column.array).cast(pa.string())


def text_digests(texts: pa.Array) -> np.ndarray:
    """A 64-bit hash per whitespace-normalised text: what duplicate detection compares.

    Python's own string hash (seeded per process, so stable within one build, which is all
    the comparison needs); about 0.2 us a text, where pandas' object hashing took 9 us.
    """
    normal = pc.utf8_trim_whitespace(pc.replace_substring_regex(texts, r"\s+", " "))
    return np.fromiter(map(hash, normal.to_pylist()), dtype=np.int64, count=len(normal))


BYTES_PER_WORD = 6  # English text, spaces included: sizes `auto` for a streamed subword model


@dataclass
class StreamedText:
    """The settings of a `TextDataModule` that the streamed build reads."""

    path: Path
    text_column: str
    label_column: str
    split_column: str | None
    fractions: tuple[float, float]
    seed: int
    drop_duplicates: bool
    drop_empty: bool
    tokenizer: TokenizerConfig
    read: tuple[str, str]  # encoding, delimiter
    chunk_mb: float

    def chunks(self) -> Iterator[pd.DataFrame]:
        cols = {"data.text_column": self.text_column, "data.label_column": self.label_column}
        if self.split_column:
            cols["data.split_column"] = self.split_column
        encoding, delimiter = self.read
        columns = list(cols.values())
        yield from read_csv_chunks(
            self.path, cols, encoding, delimiter, chunk_mb=self.chunk_mb, columns=columns
        )

    # -- pass 1 ---------------------------------------------------------------------------------
    def _scan_chunk(self, frame: pd.DataFrame, scan: Scan) -> None:
        where = str(self.path)
        text = _arrow(frame[self.text_column])
        empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
        empty = empty.to_numpy(zero_copy_only=False)
        if empty.any() and not self.drop_empty:
            raise DataError(
                f"{where}: text column {self.text_column!r} is empty at "
                f"{file_rows(frame.index[empty])}. Remove those rows or set "
                "data.drop_empty=true to skip them."
            )
        labels = _arrow(frame[self.label_column])
        missing = labels.is_null().to_numpy(zero_copy_only=False) & ~empty
        if missing.any():
            raise DataError(
                f"{where}: label column {self.label_column!r} is empty at "
                f"{file_rows(frame.index[missing])}. Fill in or remove those rows."
            )
        ids = np.full(len(frame), -1, dtype=np.int32)
        ids[~empty] = scan.label_ids(pc.utf8_trim_whitespace(labels.filter(pa.array(~empty))))
        scan.label.append(ids)
        scan.digest.append(text_digests(text))
        scan.empty.append(empty)
        if self.split_column:
            marks = np.full(len(frame), -1, dtype=np.int8)
            marks[~empty] = split_codes(frame[self.split_column][~empty], self.split_column, where)
            scan.split.append(marks)

    def scan(self) -> tuple[Scan, np.ndarray, dict[str, int]]:
        """Read every row once; return the scan, the kept rows and the counts for meta.json."""
        scan = Scan()
        for frame in self.chunks():
            self._scan_chunk(frame, scan)
        empty = np.concatenate(scan.empty)
        digest = np.concatenate(scan.digest)
        scan.empty.clear()  # only the kept rows matter from here on
        scan.digest.clear()
        keep = ~empty
        if self.drop_duplicates:
            keep[keep] = ~pd.Series(digest[keep]).duplicated().to_numpy()
        meta = {
            "rows_read": int(len(empty)),
            "empty_dropped": int(empty.sum()),
            "duplicates_dropped": int((~empty).sum() - keep.sum()),
        }
        if meta["empty_dropped"]:
            log.warning("dropped %d rows with empty text", meta["empty_dropped"])
        log.info(
            "dropped %d duplicate texts (whitespace-normalised) before splitting",
            meta["duplicates_dropped"],
        )
        return scan, np.flatnonzero(keep), meta

    def split(self, scan: Scan, kept: np.ndarray) -> dict[str, np.ndarray]:
        """Positions among the kept rows, as `stratified_split` / `column_split` give them."""
        if self.split_column:
            marks = np.concatenate(scan.split)[kept]
            index = {s: np.flatnonzero(marks == i) for i, s in enumerate(SPLITS)}
            if len(index["train"]) == 0:
                raise DataError(
                    f"{self.path}: split column {self.split_column!r} marks no rows as 'train'."
                )
            return index
        codes = pd.factorize(np.concatenate(scan.label)[kept])[0]
        val, test = self.fractions
        return stratified_split(codes, val, test, self.seed)

    # -- pass 2 ---------------------------------------------------------------------------------
    def _train_texts(self, row_split: np.ndarray) -> Iterator[pa.Array]:
        start = 0
        for frame in self.chunks():
            mine = row_split[start : start + len(frame)] == 0
            start += len(frame)
            yield pa.array(frame[self.text_column].array, type=pa.string()).filter(mine)

    def fit(self, row_split: np.ndarray) -> TextEncoder:
        """The tokenizer fitted on the training rows, counted chunk by chunk."""
        cfg = self.tokenizer
        if cfg.model != "word":
            # a file this large holds millions of words: `auto` reaches its upper cap either way
            cfg = sized(cfg, self.path.stat().st_size // BYTES_PER_WORD)
            tok, trainer = build_tokenizer(cfg)
            texts = (t.to_pylist() for t in self._train_texts(row_split))
            tok.train_from_iterator(texts, trainer, length=int((row_split == 0).sum()))
            return TextEncoder(cfg, tok)
        counts = None
        for texts in self._train_texts(row_split):
            tokens = TextEncoder._arrow_tokens(cfg, texts)
            every = np.arange(len(tokens.counts))
            counts = arrow_words.add_counts(counts, arrow_words.train_counts(tokens, every))
        assert counts is not None
        cfg = sized(cfg, int(pc.sum(counts.column("count")).as_py() or 0))
        vocab = arrow_words.choose_vocabulary(
            counts, int(cfg.vocab_size), int(cfg.min_frequency), [PAD, UNK]
        )
        return TextEncoder.from_vocabulary(cfg, vocab)

    # -- pass 3 ---------------------------------------------------------------------------------
    def encode(self, encoder: TextEncoder, row_split: np.ndarray, out: Path) -> None:
        """Every kept row's ids, appended to its split's arrays in file order."""
        writers = [RaggedWriter(out / split) for split in SPLITS]
        start = 0
        for frame in self.chunks():
            marks = row_split[start : start + len(frame)]
            start += len(frame)
            rows = np.flatnonzero(marks >= 0)
            texts = pa.array(frame[self.text_column].array, type=pa.string()).take(pa.array(rows))
            encoded = encoder.encode(texts)
            for i, writer in enumerate(writers):
                writer.append(encoded.take(np.flatnonzero(marks[rows] == i)))
        for writer in writers:
            writer.close()

    # -- all of it ------------------------------------------------------------------------------
    def build(self, out: Path) -> tuple[TextEncoder, LabelMap, dict]:
        """Write the split arrays and labels into `out`; return the fitted parts and meta."""
        where = str(self.path)
        scan, kept, meta = self.scan()
        index = self.split(scan, kept)
        names = np.asarray(list(scan.names), dtype=object)
        label_of = pd.Series(pd.Categorical.from_codes(np.concatenate(scan.label)[kept], names))
        warn_variants(pd.Series(names), where, self.label_column, "labels")
        train_ids = np.unique(label_of.cat.codes.to_numpy()[index["train"]])
        labels = LabelMap.fit(pd.Series(names[train_ids]), where, self.label_column)
        lookup = np.full(len(names), -1, dtype=np.int64)
        row_split = np.full(meta["rows_read"], -1, dtype=np.int8)
        counts = {}
        for i, split in enumerate(SPLITS):
            ids = label_of.cat.codes.to_numpy()[index[split]]
            present = np.unique(ids)
            lookup[present] = labels.encode(pd.Series(names[present]), split, where)
            np.save(out / f"{split}.labels.npy", lookup[ids])
            row_split[kept[index[split]]] = i
            counts[split] = len(ids)
        check_coverage(label_of, index, where, self.label_column)
        encoder = self.fit(row_split)
        self.encode(encoder, row_split, out)
        return encoder, labels, {**meta, "counts": counts}
