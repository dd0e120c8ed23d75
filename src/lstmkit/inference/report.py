"""What predict could not use or had to change, counted and named by line: nothing silently lost."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lstmkit.data.csv import describe_lines, file_rows

log = logging.getLogger(__name__)
MAX_LINES = 1000  # line numbers listed per issue in the report


@dataclass
class PredictReport:
    """Counts per issue with the file lines (header = line 1) where each was seen."""

    rows: int = 0
    predicted: int = 0
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, index: pd.Index | np.ndarray, what: str) -> None:
        """Record `what` happened at the data rows in `index` (0-based frame index)."""
        index = pd.Index(index)
        if len(index):
            lines = [int(i) + 2 for i in index[:MAX_LINES]]  # the output CSV has every row
            self.issues[name] = {
                "count": int(len(index)),
                "lines": lines,
                "what": what,
                "where": file_rows(index),
            }

    def merge(self, later: PredictReport) -> None:
        """Add the report of the next chunk of the same file (its rows follow these)."""
        self.rows += later.rows
        self.predicted += later.predicted
        for key, value in later.totals.items():
            self.totals[key] = self.totals.get(key, 0) + value
        for name, issue in later.issues.items():
            mine = self.issues.setdefault(name, {**issue, "count": 0, "lines": []})
            mine["count"] += issue["count"]
            mine["lines"] = (mine["lines"] + issue["lines"])[:MAX_LINES]
            mine["where"] = describe_lines(mine["lines"], mine["count"])

    def log(self, where: str) -> None:
        log.info("%s: %d rows read, %d predicted", where, self.rows, self.predicted)
        for name, issue in self.issues.items():
            log.warning(
                "%s: %d %s (%s): %s", where, issue["count"], name, issue["what"], issue["where"]
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "predicted": self.predicted,
            "issues": self.issues,
            "totals": self.totals,
        }
