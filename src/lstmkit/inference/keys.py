"""The user's key column in predictions: put first, and rows it cannot join back reported."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError
from lstmkit.inference.report import PredictReport


class KeyColumn:
    """Moves `id_column` to the front of each output chunk and remembers each row's key.

    The output keeps one row per input row in input order, so a missing or duplicated key
    only makes a join by key ambiguous: such rows are still predicted, and named by line in
    `report`. Only a 64-bit hash of each key is kept, so a file read in chunks is checked
    across all of its chunks without holding the keys.
    """

    def __init__(self, id_column: str, path: str) -> None:
        self.id_column, self.path = id_column, path
        self.missing: list[np.ndarray] = []
        self.digests: list[np.ndarray] = []

    def first(self, out: pd.DataFrame) -> pd.DataFrame:
        """`out` with the key column first; its keys noted for `report`."""
        id_column = self.id_column
        name = id_column if id_column in out.columns else f"input_{id_column}"  # renamed
        if name not in out.columns:
            raise ConfigError(
                f"{self.path}: id_column={id_column!r} is not an input column to keep; "
                f"columns: {[c for c in out.columns if not str(c).startswith('prob_')]}. "
                "Name the column that identifies each row (keep_text=true to key by the text)."
            )
        key = out[name].astype("string")
        self.missing.append((key.isna() | key.str.strip().eq("")).to_numpy(dtype=bool))
        values = key.fillna("").tolist()
        self.digests.append(np.fromiter(map(hash, values), dtype=np.int64, count=len(values)))
        return out[[name, *(c for c in out.columns if c != name)]]

    def report(self, report: PredictReport) -> None:
        """Count the rows whose key is missing or shared with another row."""
        if not self.missing:
            return
        missing = np.concatenate(self.missing)
        digests = pd.Series(np.concatenate(self.digests))
        duplicated = digests.duplicated(keep=False).to_numpy() & ~missing
        id_column = self.id_column
        report.add(
            "missing_id",
            np.flatnonzero(missing),
            f"no {id_column!r} value; cannot be joined by key",
        )
        report.add(
            "duplicate_id",
            np.flatnonzero(duplicated),
            f"{id_column!r} value shared with another row; a join by key is ambiguous",
        )
