"""Train-only augmentation for small sequence-classification sets: jitter, scaling, warps.

ArrowHead has 36 training series; the LSTM fits them and then memorises them. Each time a
training batch is drawn, every series gets a fresh random gain (one per series) and fresh
noise (per value), so repeated epochs see new variants of the same shapes. Values are already
standardised per feature, so the sizes are in standard deviations. Validation, test and
predict see the series unchanged.

`warp` (off unless set) also bends each series smoothly in time and in magnitude: a random
speed and a random gain at a few knots, interpolated over the raw steps inside the patches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from lstmkit.data.batches import RaggedDataset
from lstmkit.errors import ConfigError

SMALL = 100  # training sequences below which `data.augment=null` turns augmentation on
KNOTS = 4  # points of each random warp curve, spread evenly over the series


@dataclass(frozen=True)
class Augment:
    """Noise sd and gain sd, in standard deviations of the standardised features; warp sd."""

    jitter: float = 0.05
    scale: float = 0.1
    warp: float = 0.0  # sd of the log speed and of the gain at each warp knot; 0: no warp

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def augment_for(
    setting: bool | None, train_count: int, sizes: Augment | None = None
) -> tuple[Augment | None, str]:
    """`data.augment`, or (null) on when the training set has fewer than SMALL sequences."""
    if setting is not None and not isinstance(setting, bool):
        raise ConfigError(f"data.augment must be true, false or null, got {setting!r}.")
    sizes = sizes or Augment()
    if min(sizes.jitter, sizes.scale, sizes.warp) < 0:
        raise ConfigError(
            f"data.augment_jitter, data.augment_scale and data.augment_warp must be >= 0: {sizes}."
        )
    if setting is not None:
        return (sizes if setting else None), f"data.augment={str(setting).lower()}"
    on = train_count < SMALL
    why = f"null: {train_count} training sequences {'<' if on else '>='} {SMALL}"
    return (sizes if on else None), why


class AugmentedDataset(RaggedDataset):
    """The training split, with a new random gain and noise on every batch drawn."""

    def __init__(
        self, data: RaggedDataset, augment: Augment, seed: list[int], width: int = 1
    ) -> None:
        super().__init__(data.inputs, data.targets)
        self.augment = augment
        self.width = width  # values per raw step (features); a patched step holds several
        self.rng = np.random.default_rng(seed)

    def __getitems__(self, index: list[int]) -> dict[str, torch.Tensor]:
        batch = super().__getitems__(index)
        x = batch["inputs"]
        n, steps = x.shape[0], x.shape[1]
        gain = 1 + self.augment.scale * self.rng.standard_normal((n, 1, 1))
        noise = self.augment.jitter * self.rng.standard_normal(x.shape)
        mask = np.arange(steps)[None, :] < batch["lengths"].numpy()[:, None]
        values = x.numpy()
        if self.augment.warp > 0:
            values = self._warp(values, batch["lengths"].numpy())
        out = values * gain + noise * mask[..., None]
        batch["inputs"] = torch.from_numpy(out.astype(np.float32))
        return batch

    def _curve(self, size: int) -> np.ndarray:
        """A smooth random curve over `size` raw steps, 0 on average, sd `warp` at the knots."""
        knots = self.augment.warp * self.rng.standard_normal(KNOTS)
        return np.interp(np.linspace(0, 1, size), np.linspace(0, 1, KNOTS), knots)

    def _warp(self, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Resample each series along a random monotone time map, times a random smooth gain."""
        n, steps, wide = x.shape
        per_step = wide // self.width  # raw steps per patched step
        raw = x.reshape(n, steps * per_step, self.width)
        out = raw.copy()
        for i, size in enumerate(lengths * per_step):
            if size < 2:
                continue
            where = np.cumsum(np.exp(self._curve(size)))
            where = (where - where[0]) / (where[-1] - where[0]) * (size - 1)
            gain = 1 + self._curve(size)
            grid = np.arange(size)
            for c in range(self.width):
                out[i, :size, c] = np.interp(where, grid, raw[i, :size, c]) * gain
        return out.reshape(n, steps, wide)
