"""`data.augment_warp`: smooth random time and magnitude warps of tiny training sets."""

from __future__ import annotations

import numpy as np

from lstmkit.data.augment import Augment, AugmentedDataset
from lstmkit.data.batches import RaggedDataset
from lstmkit.data.patches import patch
from lstmkit.data.ragged import Ragged


def patched(patch_size: int) -> tuple[RaggedDataset, np.ndarray]:
    """Two 2-feature series (24 and 13 raw steps), read in patches of `patch_size`."""
    t = np.linspace(0, 6, 24)
    raw = np.c_[np.sin(t), np.cos(t)].astype(np.float32)
    values, lengths = patch(np.r_[raw, raw[:13]], np.array([24, 13]), patch_size)
    return RaggedDataset(Ragged.from_lengths(values, lengths), np.array([0, 1])), raw


def draw(data: RaggedDataset, warp: float, seed: int = 0) -> dict:
    served = AugmentedDataset(data, Augment(jitter=0, scale=0, warp=warp), [seed], width=2)
    return served.__getitems__([0, 1])


def test_no_warp_leaves_the_series_as_read():
    data, _ = patched(8)
    np.testing.assert_array_equal(draw(data, 0.0)["inputs"], data.__getitems__([0, 1])["inputs"])


def test_a_warp_bends_each_series_smoothly_and_keeps_its_ends_and_padding():
    data, raw = patched(8)
    x = draw(data, 0.3)["inputs"].numpy()
    assert x.shape == (2, 3, 16)
    first = x[0].reshape(24, 2)  # back to raw steps: the warp works inside the patches
    assert not np.allclose(first, raw, atol=1e-2)
    assert np.abs(first - raw).max() < 1.0  # bent, not scrambled
    # the time map keeps the first and last steps in place; only a gain (one for both
    # features at a step) changes them
    assert abs(first[0, 0]) < 1e-6  # sin(0) = 0 under any gain
    end = first[-1] / raw[-1]
    assert abs(end[0] - end[1]) < 1e-4 and abs(end[0] - 1) > 1e-3
    np.testing.assert_array_equal(x[1, 2:], 0)  # the shorter series' padding stays zero
    assert not np.allclose(draw(data, 0.3, seed=1)["inputs"], x)  # a new warp per draw
