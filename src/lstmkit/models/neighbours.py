"""A nearest-neighbour member for tiny sequence sets: class scores from the closest training series.

On a few dozen aligned series (ArrowHead: 36 outlines) one nearest neighbour in Euclidean
distance is the classical yardstick, and inside ArrowHead's training split it is right more
often than a fold ensemble of LSTMs (docs/shape.md). This member keeps the training series
(scaled and patched as the network reads them) as buffers and turns the distance to each
class's nearest series into probabilities; the fold ensemble blends it with the networks at a
weight chosen on out-of-fold predictions (`lstmkit.neighbour_choice`).

Distances are exact under padding: each series' own steps count, padding never does, and a
series longer or shorter than the stored ones is compared as if the shorter were extended
with zeros (the scaled mean). Everything is matrix products, minima and a softmax, so the
member exports to ONNX with a dynamic batch and length.
"""

from __future__ import annotations

import torch
from torch import nn

FAR = 1e30  # added to the distances of other classes' series: never the class's nearest


class NearestNeighbours(nn.Module):
    """Log class probabilities `-beta * d_c / scale`, softmaxed; d_c: the nearest series of c.

    `scale` is the median distance of a stored series to its nearest other one, so `beta`
    does not depend on the data's units.
    """

    memory: torch.Tensor  # [count, steps * width]
    labels: torch.Tensor  # [count]

    def __init__(
        self, count: int, steps: int, width: int, num_classes: int, beta: float, scale: float
    ) -> None:
        super().__init__()
        self.steps, self.width, self.num_classes = steps, width, num_classes
        self.beta, self.scale = beta, scale
        self.register_buffer("memory", torch.zeros(count, steps * width))
        self.register_buffer("labels", torch.zeros(count, dtype=torch.long))

    def store(self, inputs: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor) -> None:
        """Keep `inputs` [N, T, width] (padded) and their labels as the member's memory."""
        self.memory.copy_(self.flatten(self.valid_steps(inputs, lengths)))
        self.labels.copy_(labels)

    @staticmethod
    def valid_steps(inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`inputs` in float32 with every pad set to zero, so padding never counts."""
        steps = torch.arange(inputs.shape[1], device=inputs.device)
        valid = (steps[None, :] < lengths[:, None].to(inputs.device)).to(torch.float32)
        return inputs.float() * valid[..., None]

    def flatten(self, inputs: torch.Tensor) -> torch.Tensor:
        """[B, T, width] (pads zeroed) -> [B, steps * width], cut or zero-extended to `steps`."""
        zeros = inputs.new_zeros(inputs.shape[0], self.steps, self.width)
        # extend, then cut: no branch on the length, so an ONNX graph takes any length
        kept = torch.cat([inputs, zeros], dim=1)[:, : self.steps]
        return kept.reshape(kept.shape[0], self.steps * self.width)

    def distances(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Euclidean distance of each series to each stored one, [B, count]."""
        x = self.valid_steps(inputs, lengths)
        total = (x * x).sum(dim=(1, 2))  # every valid step, also those beyond `steps`
        memory = self.memory.float()
        squared = (
            total[:, None] + (memory * memory).sum(1)[None, :] - 2 * self.flatten(x) @ memory.T
        )
        return squared.clamp_min(0).sqrt()

    def class_distances(self, distances: torch.Tensor) -> torch.Tensor:
        """[B, count] -> [B, num_classes]: the distance to each class's nearest stored series."""
        classes = torch.arange(self.num_classes, device=distances.device)
        other = (self.labels[None, :] != classes[:, None]).to(distances.dtype) * FAR
        return (distances[:, None, :] + other[None]).amin(dim=-1)

    def log_probs(self, class_distances: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(-self.beta * class_distances / self.scale, dim=-1)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.log_probs(self.class_distances(self.distances(inputs, lengths)))
