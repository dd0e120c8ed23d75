"""Patches: `p` consecutive steps of a sequence read as one input step of `p x F` features.

An LSTM over a 251-step univariate series (UCR ArrowHead) barely fits its 36 training series
(training accuracy 0.66 after 200 steps); read as 32 steps of 8 values it fits them and runs
several times faster. The patch size is sized from the training lengths (`data.patch=null`)
and saved in preprocessor.json, so predict cuts new sequences the same way.
"""

from __future__ import annotations

import math

import numpy as np

TARGET_STEPS = 32  # recurrent steps the longest training sequence is cut down to


def patch_size_for(setting: int | None, train_lengths: np.ndarray) -> tuple[int, str]:
    """`data.patch`, or (null) the smallest size that brings the longest training sequence to
    at most TARGET_STEPS steps (1: short sequences are read step by step)."""
    if setting is not None:
        return int(setting), "data.patch"
    longest = int(train_lengths.max())
    size = max(1, math.ceil(longest / TARGET_STEPS))
    return size, f"null: the longest training sequence has {longest} steps (<= {TARGET_STEPS})"


def patch(values: np.ndarray, lengths: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows [N, F] of sequences of `lengths` -> rows [M, size x F] and the new lengths.

    A sequence whose length is not a multiple of `size` repeats its last step to fill its
    last patch (edge padding: no value that was not observed)."""
    if size == 1:
        return values, lengths
    new_lengths = -(-lengths // size)
    starts = np.repeat(np.cumsum(lengths) - lengths, new_lengths * size)
    within = np.arange(int((new_lengths * size).sum())) - np.repeat(
        np.cumsum(new_lengths * size) - new_lengths * size, new_lengths * size
    )
    last = np.repeat(lengths - 1, new_lengths * size)
    rows = values[starts + np.minimum(within, last)]
    return rows.reshape(-1, size * values.shape[1]), new_lengths
