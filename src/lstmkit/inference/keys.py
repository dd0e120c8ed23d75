"""The user's key column in predictions: put first, and rows it cannot join back reported."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError
from lstmkit.inference.report import PredictReport


def key_first(out: pd.DataFrame, id_column: str, report: PredictReport, path: str) -> pd.DataFrame:
    """Move `id_column` to the front; count rows whose key is missing or shared with another row.

    The output keeps one row per input row in input order, so a missing or duplicated key
    only makes a join by key ambiguous: such rows are still predicted, and named by line.
    """
    name = id_column if id_column in out.columns else f"input_{id_column}"  # renamed if clashing
    if name not in out.columns:
        raise ConfigError(
            f"{path}: id_column={id_column!r} is not an input column to keep; "
            f"columns: {[c for c in out.columns if not str(c).startswith('prob_')]}. "
            "Name the column that identifies each row (keep_text=true to key by the text)."
        )
    key = out[name]
    missing = (key.isna() | key.astype("string").str.strip().eq("")).to_numpy()
    duplicated = key.duplicated(keep=False).to_numpy() & ~missing
    report.add(
        "missing_id", np.flatnonzero(missing), f"no {id_column!r} value; cannot be joined by key"
    )
    report.add(
        "duplicate_id",
        np.flatnonzero(duplicated),
        f"{id_column!r} value shared with another row; a join by key is ambiguous",
    )
    return out[[name, *(c for c in out.columns if c != name)]]
