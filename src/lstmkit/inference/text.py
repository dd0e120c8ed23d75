"""Classify new texts with a run's own tokenizer and label map, reporting what it cannot use."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from lstmkit.data import arrow_words
from lstmkit.data.csv import read_csv
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
    report = PredictReport(rows=len(frame))
    text = frame[column].astype("string")
    empty = (text.isna() | (text.str.strip() == "")).to_numpy()

    encoder, max_length = untruncated_encoder(run)
    full = encoder.encode(text[~empty].fillna("").tolist())
    counts = np.zeros(len(frame), dtype=np.int64)
    counts[~empty] = full.lengths
    row_of_token = np.repeat(np.arange(len(full)), full.lengths)
    unknown = np.zeros(len(frame), dtype=np.int64)
    unknown[~empty] = np.bincount(
        row_of_token, weights=full.values == UNK_ID, minlength=len(full)
    ).astype(np.int64)
    no_tokens = ~empty & (counts == 0)
    usable = ~empty & ~no_tokens

    ids, lengths = arrow_words.truncate(np.asarray(full.values), full.lengths, max_length)
    inputs = Ragged.from_lengths(ids, lengths).take(np.flatnonzero(counts[~empty] > 0))
    probs = probabilities(run.net, inputs, batch_size)

    labels = run.spec["labels"]
    out = (frame if keep_text else frame.drop(columns=[column])).reset_index(drop=True)
    ours = {"line", "status", "predicted", "tokens", "unknown_tokens", "truncated"}
    ours |= {f"prob_{name}" for name in run.spec["labels"]}
    out.columns = [f"input_{c}" if c in ours else c for c in out.columns]  # e.g. a true label
    out.insert(0, "line", np.arange(len(frame)) + 2)
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
