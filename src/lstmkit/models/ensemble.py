"""k trained networks as one: averaged class probabilities or averaged forecasts.

A classifier ensemble returns the log of the members' mean probability, so everything that
applies a softmax to a classifier's output (the task's metrics, predict, ONNX) gets the mean
probability. A forecaster ensemble returns the mean forecast (in the scaled space the members
forecast in; with `log_transform` that is a mean of logs).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Ensemble(nn.Module):
    """Members share inputs; `probabilities` says whether their outputs are class logits."""

    def __init__(self, members: list[nn.Module], probabilities: bool) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.probabilities = probabilities
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
            return torch.logsumexp(log_probs, dim=0) - math.log(len(self.members))
        return outputs.mean(dim=0)
