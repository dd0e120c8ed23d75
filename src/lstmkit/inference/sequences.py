"""Classify new long-format sequences with a run's feature list, scaler and label map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmkit.data.csv import read_csv
from lstmkit.data.patches import patch
from lstmkit.data.ragged import Ragged
from lstmkit.data.readers import group_sequences
from lstmkit.data.scalers import Scaler
from lstmkit.inference.batching import add_class_columns, probabilities
from lstmkit.inference.report import PredictReport
from lstmkit.inference.run import LoadedRun


def classify_sequences(
    run: LoadedRun, path: str, batch_size: int = 256, encoding: str = "utf-8", delimiter: str = ","
) -> tuple[pd.DataFrame, PredictReport]:
    """One output row per sequence id: status, label and class probabilities."""
    spec = run.spec
    id_col, step_col, features = spec["id_column"], spec["step_column"], spec["feature_columns"]
    cols = {"id_column": id_col, "step_column": step_col}
    cols |= {f"feature_columns[{i}]": c for i, c in enumerate(features)}
    frame = read_csv(path, cols, encoding, delimiter, option="")
    report = PredictReport(rows=len(frame))
    no_id = frame[id_col].isna().to_numpy()
    report.add("no_id", frame.index[no_id], f"empty {id_col!r}; not predicted")
    frame = frame.loc[~no_id]
    rows = group_sequences(frame, id_col, step_col, features, str(path))
    frame, codes, ids, values = rows.frame, rows.codes, rows.ids, rows.values
    missing_rows = np.isnan(values).any(axis=1)
    bad = np.zeros(len(ids), dtype=bool)
    bad[codes[missing_rows]] = True
    report.add(
        "missing_values",
        frame.index[bad[codes]],
        "rows of sequences with an empty feature value; those sequences not predicted",
    )
    lengths = np.bincount(codes, minlength=len(ids))
    keep = np.flatnonzero(~bad)
    scaler = Scaler.from_dict(spec["scaler"])
    scaled = scaler.transform(values, np.zeros(len(values), dtype=np.int64))
    inputs = Ragged.from_lengths(*patch(scaled, lengths, spec.get("patch") or 1))
    probs = probabilities(run.net, inputs.take(keep), batch_size)
    labels = spec["labels"]
    out = pd.DataFrame(
        {
            id_col: [str(i) for i in ids],
            "status": np.where(bad, "missing_values", "ok"),
            "steps": lengths,
        }
    )
    add_class_columns(out, keep, probs, labels)
    report.predicted = len(keep)
    report.totals = {"sequences": len(ids)}
    return out, report
