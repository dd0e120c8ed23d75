"""Sequence pooling over valid steps only: pads never leak into the summary vector."""

from __future__ import annotations

import torch
from torch import nn

from lstmkit.models.recurrent import step_mask

MODES = ("last", "mean", "max", "attention")


class Pooling(nn.Module):
    """Summarise [B, T, H] encoder outputs into [B, H].

    `zero_past_end`: the outputs are already zero past each sequence's end (RecurrentEncoder
    guarantees it), so mean pooling sums them as they are instead of masking a second time.
    """

    def __init__(self, mode: str, size: int, zero_past_end: bool = False) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"model.pooling must be one of {MODES}, got {mode!r}")
        self.mode, self.zero_past_end = mode, zero_past_end
        self.score = nn.Linear(size, 1) if mode == "attention" else None

    def forward(
        self, outputs: torch.Tensor, lengths: torch.Tensor, final: torch.Tensor
    ) -> torch.Tensor:
        if self.mode == "last":
            return final
        if self.mode == "mean" and self.zero_past_end:
            return outputs.sum(1) / lengths.clamp(min=1).to(outputs)[:, None]
        mask = step_mask(lengths.to(outputs.device), outputs.size(1))[:, :, None]
        if self.mode == "mean":
            return (outputs * mask).sum(1) / lengths.clamp(min=1).to(outputs)[:, None]
        if self.mode == "max":
            return outputs.masked_fill(~mask, float("-inf")).amax(1)
        assert self.score is not None  # set whenever mode == "attention"
        scores = self.score(outputs).masked_fill(~mask, float("-inf"))
        return (torch.softmax(scores, dim=1) * outputs).sum(1)
