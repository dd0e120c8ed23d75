"""Train-only augmentation for small sequence-classification sets: jitter and scaling.

ArrowHead has 36 training series; the LSTM fits them and then memorises them. Each time a
training batch is drawn, every series gets a fresh random gain (one per series) and fresh
noise (per value), so repeated epochs see new variants of the same shapes. Values are already
standardised per feature, so the sizes are in standard deviations. Validation, test and
predict see the series unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from lstmkit.data.batches import RaggedDataset
from lstmkit.errors import ConfigError

SMALL = 100  # training sequences below which `data.augment=null` turns augmentation on


@dataclass(frozen=True)
class Augment:
    """Noise sd and gain sd, in standard deviations of the standardised features."""

    jitter: float = 0.05
    scale: float = 0.1

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def augment_for(
    setting: bool | None, train_count: int, sizes: Augment | None = None
) -> tuple[Augment | None, str]:
    """`data.augment`, or (null) on when the training set has fewer than SMALL sequences."""
    if setting is not None and not isinstance(setting, bool):
        raise ConfigError(f"data.augment must be true, false or null, got {setting!r}.")
    sizes = sizes or Augment()
    if min(sizes.jitter, sizes.scale) < 0:
        raise ConfigError(f"data.augment_jitter and data.augment_scale must be >= 0: {sizes}.")
    if setting is not None:
        return (sizes if setting else None), f"data.augment={str(setting).lower()}"
    on = train_count < SMALL
    why = f"null: {train_count} training sequences {'<' if on else '>='} {SMALL}"
    return (sizes if on else None), why


class AugmentedDataset(RaggedDataset):
    """The training split, with a new random gain and noise on every batch drawn."""

    def __init__(self, data: RaggedDataset, augment: Augment, seed: list[int]) -> None:
        super().__init__(data.inputs, data.targets)
        self.augment = augment
        self.rng = np.random.default_rng(seed)

    def __getitems__(self, index: list[int]) -> dict[str, torch.Tensor]:
        batch = super().__getitems__(index)
        x = batch["inputs"]
        n, steps = x.shape[0], x.shape[1]
        gain = 1 + self.augment.scale * self.rng.standard_normal((n, 1, 1))
        noise = self.augment.jitter * self.rng.standard_normal(x.shape)
        mask = np.arange(steps)[None, :] < batch["lengths"].numpy()[:, None]
        out = x.numpy() * gain + noise * mask[..., None]
        batch["inputs"] = torch.from_numpy(out.astype(np.float32))
        return batch
