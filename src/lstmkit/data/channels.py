"""Each step's change from the previous step, as extra input channels (`data.differences`).

A shape's outline is told apart by where it bends; the first difference shows the bends as
values the LSTM reads directly. Nothing is fitted: the differences are taken per sequence
before the scaler, so training and predict compute them the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def add_differences(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rows [N, F] of consecutive sequences -> [N, 2F]: the values, then each step's change
    from the step before it (0 at every sequence's first step)."""
    change = np.zeros_like(values)
    change[1:] = values[1:] - values[:-1]
    firsts = np.cumsum(lengths) - lengths
    change[firsts[lengths > 0]] = 0
    return np.concatenate([values, change], axis=1)


def step_width(spec: dict[str, Any]) -> int:
    """Input values per raw step that a sequence run's preprocessor.json implies."""
    return len(spec["feature_columns"]) * (2 if spec.get("differences") else 1)
