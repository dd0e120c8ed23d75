"""k trained networks as one: averaged class probabilities or averaged forecasts.

A classifier ensemble returns the log of the members' mean probability, so everything that
applies a softmax to a classifier's output (the task's metrics, predict, ONNX) gets the mean
probability. A forecaster ensemble returns the mean forecast (in the scaled space the members
forecast in; with `log_transform` that is a mean of logs).

A classifier ensemble of fold members may also hold a nearest-neighbour member
(`models/neighbours.py`): its output is then the log of `weight` x the networks' mean
probability plus `1 - weight` x the neighbours' probability.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lstmkit.models.neighbours import NearestNeighbours


class Ensemble(nn.Module):
    """Members share inputs; `probabilities` says whether their outputs are class logits."""

    def __init__(
        self,
        members: list[nn.Module],
        probabilities: bool,
        neighbours: NearestNeighbours | None = None,
        weight: float = 1.0,
    ) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if neighbours is not None and not (probabilities and 0.0 < weight < 1.0):
            raise ValueError("a neighbour member needs classifiers and a weight in (0, 1)")
        self.members = nn.ModuleList(members)
        self.probabilities = probabilities
        self.neighbours = neighbours
        self.weight = weight  # the networks' share of the probability
        # a quantile forecaster's levels: the task scores the averaged quantiles as such
        self.quantiles = list(getattr(members[0], "quantiles", None) or [])
        self.median = getattr(members[0], "median", 0)

    def forward(
        self, inputs: torch.Tensor, lengths: torch.Tensor, *extra: torch.Tensor | None
    ) -> torch.Tensor:
        """`extra`: a forecaster's known-future inputs and series ids, passed to every member."""
        outputs = torch.stack([member(inputs, lengths, *extra) for member in self.members])
        if self.probabilities:
            log_probs = torch.log_softmax(outputs, dim=-1)
            mean = torch.logsumexp(log_probs, dim=0) - math.log(len(self.members))
            if self.neighbours is None:
                return mean
            near = self.neighbours(inputs, lengths).to(mean.dtype)
            shares = [mean + math.log(self.weight), near + math.log(1.0 - self.weight)]
            return torch.logsumexp(torch.stack(shares), dim=0)  # ONNX has no logaddexp
        return outputs.mean(dim=0)
