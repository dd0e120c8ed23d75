"""Sequence pooling over valid steps only: pads never leak into the summary vector."""

from __future__ import annotations

import torch
from torch import nn

from lstmkit.models.recurrent import step_mask

MODES = ("last", "mean", "max", "attention")


class Pooling(nn.Module):
    """Summarise [B, T, H] encoder outputs into [B, H]."""

    def __init__(self, mode: str, size: int) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"model.pooling must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.score = nn.Linear(size, 1) if mode == "attention" else None

    def forward(
        self, outputs: torch.Tensor, lengths: torch.Tensor, final: torch.Tensor
    ) -> torch.Tensor:
        if self.mode == "last":
            return final
        mask = step_mask(lengths.to(outputs.device), outputs.size(1))[:, :, None]
        if self.mode == "mean":
            return (outputs * mask).sum(1) / lengths.clamp(min=1).to(outputs)[:, None]
        if self.mode == "max":
            return outputs.masked_fill(~mask, float("-inf")).amax(1)
        assert self.score is not None  # set whenever mode == "attention"
        scores = self.score(outputs).masked_fill(~mask, float("-inf"))
        return (torch.softmax(scores, dim=1) * outputs).sum(1)
