"""Classify new texts with a run's own tokenizer and label map, reporting what it cannot use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from lstmkit.data import arrow_words
from lstmkit.data.csv import read_csv, read_csv_chunks
from lstmkit.data.ragged import Ragged
from lstmkit.data.tokenization import UNK_ID, TextEncoder, TokenizerConfig
from lstmkit.inference.batching import add_class_columns, probabilities
from lstmkit.inference.report import PredictReport
from lstmkit.inference.run import LoadedRun

UNLIMITED = 2**31 - 1


def untruncated_encoder(run: LoadedRun) -> tuple[TextEncoder, int]:
    """The training encoder without its length cap, so over-long texts can be counted."""
    cfg = TokenizerConfig(**run.spec["tokenizer"])
    tok = Tokenizer.from_file(str(run.preprocessor / "tokenizer.json"))
    tok.no_truncation()
    return TextEncoder(replace(cfg, max_length=UNLIMITED), tok), cfg.max_length


def classify_texts(
    run: LoadedRun,
    path: str,
    text_column: str | None = None,
    batch_size: int = 256,
    encoding: str = "utf-8",
    delimiter: str = ",",
    keep_text: bool = False,
) -> tuple[pd.DataFrame, PredictReport]:
    """One output row per input row: label, class probabilities, token counts and a status;
    the input's other columns (and its text column with `keep_text`) kept beside them."""
    column = text_column or run.spec["text_column"]
    frame = read_csv(path, {"text_column": column}, encoding, delimiter, option="")
    return TextClassifier(run, column, batch_size, keep_text).classify(frame)


def classify_text_chunks(
    run: LoadedRun,
    path: str,
    text_column: str | None = None,
    batch_size: int = 256,
    encoding: str = "utf-8",
    delimiter: str = ",",
    keep_text: bool = False,
    chunk_mb: float = 16,
) -> Iterator[tuple[pd.DataFrame, PredictReport]]:
    """`classify_texts` a chunk of the file at a time: memory follows the chunk, not the file.

    Every input column is read as text, so the columns passed through keep their spelling.
    """
    column = text_column or run.spec["text_column"]
    classifier = TextClassifier(run, column, batch_size, keep_text)
    chunks = read_csv_chunks(
        path, {"text_column": column}, encoding, delimiter, option="", chunk_mb=chunk_mb
    )
    for frame in chunks:
        yield classifier.classify(frame)


class TextClassifier:
    """A run's encoder and network, applied to frames of input rows (whole file or chunks)."""

    def __init__(self, run: LoadedRun, column: str, batch_size: int, keep_text: bool) -> None:
        self.run, self.column, self.batch_size, self.keep_text = run, column, batch_size, keep_text
        self.encoder, self.max_length = untruncated_encoder(run)

    def classify(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, PredictReport]:
        """Predictions for `frame`, whose index is each row's position in the file."""
        run, column = self.run, self.column
        report = PredictReport(rows=len(frame))
        text = frame[column].astype("string")
        empty = (text.isna() | (text.str.strip() == "")).to_numpy()

        full = self.encoder.encode(text[~empty].fillna("").tolist())
        counts = np.zeros(len(frame), dtype=np.int64)
        counts[~empty] = full.lengths
        row_of_token = np.repeat(np.arange(len(full)), full.lengths)
        unknown = np.zeros(len(frame), dtype=np.int64)
        unknown[~empty] = np.bincount(
            row_of_token, weights=full.values == UNK_ID, minlength=len(full)
        ).astype(np.int64)
        no_tokens = ~empty & (counts == 0)
        usable = ~empty & ~no_tokens

        max_length = self.max_length
        ids, lengths = arrow_words.truncate(np.asarray(full.values), full.lengths, max_length)
        inputs = Ragged.from_lengths(ids, lengths).take(np.flatnonzero(counts[~empty] > 0))
        probs = probabilities(run.net, inputs, self.batch_size)

        labels = run.spec["labels"]
        out = frame if self.keep_text else frame.drop(columns=[column])
        ours = {"line", "status", "predicted", "tokens", "unknown_tokens", "truncated"}
        ours |= {f"prob_{name}" for name in run.spec["labels"]}
        out = out.set_axis([f"input_{c}" if c in ours else c for c in out.columns], axis=1)
        out = out.reset_index(drop=True)  # e.g. a true label column kept beside ours
        out.insert(0, "line", np.asarray(frame.index) + 2)
        status = np.where(empty, "empty_text", np.where(no_tokens, "no_tokens", "ok"))
        out.insert(1, "status", status)
        add_class_columns(out, usable, probs, labels)
        out["tokens"] = counts
        out["unknown_tokens"] = unknown
        out["truncated"] = counts > max_length

        report.predicted = int(usable.sum())
        index = frame.index
        report.add("empty_text", index[empty], f"no text in column {column!r}; not predicted")
        report.add("no_tokens", index[no_tokens], "no token the tokenizer keeps; not predicted")
        report.add(
            "unknown_tokens",
            index[unknown > 0],
            "rows with words never seen in training (read as [UNK]); predicted",
        )
        report.add(
            "all_unknown",
            index[usable & (unknown == counts)],
            "rows where every token is unknown; predicted, but from no known word",
        )
        report.add(
            "truncated",
            index[counts > max_length],
            f"longer than max_length={max_length} tokens; the first {max_length} were used",
        )
        report.totals = {"tokens": int(counts.sum()), "unknown_tokens": int(unknown.sum())}
        return out, report
