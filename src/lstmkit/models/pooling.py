"""Sequence pooling over valid steps only: pads never leak into the summary vector."""

from __future__ import annotations

import torch
from torch import nn

from lstmkit.models.recurrent import step_mask

MODES = ("last", "mean", "max", "attention", "segments")
SEGMENTS = 8  # `segments`: the mean over each eighth of a sequence's valid steps, side by side


def segment_means(outputs: torch.Tensor, lengths: torch.Tensor, parts: int) -> torch.Tensor:
    """[B, T, H] -> [B, parts x H]: the mean of each of `parts` consecutive, equal shares of a
    row's valid steps, in order. Unlike a mean, it keeps *where* along the sequence a feature
    was (the notch of a shape outline); being relative to each row's length, it does not
    depend on padding and reads any length (a share with no step is zero)."""
    steps = outputs.size(1)
    lengths = lengths.to(outputs.device).clamp(min=1)
    t = torch.arange(steps, device=outputs.device)[None, :]
    share = torch.div(t * parts, lengths[:, None], rounding_mode="floor")  # >= parts past end
    onehot = (share[:, :, None] == torch.arange(parts, device=outputs.device)).to(outputs.dtype)
    sums = torch.einsum("btk,bth->bkh", onehot, outputs)
    return (sums / onehot.sum(1).clamp(min=1)[:, :, None]).flatten(1)


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
        self.output_size = size * SEGMENTS if mode == "segments" else size

    def forward(
        self, outputs: torch.Tensor, lengths: torch.Tensor, final: torch.Tensor
    ) -> torch.Tensor:
        if self.mode == "last":
            return final
        if self.mode == "segments":
            return segment_means(outputs, lengths, SEGMENTS)
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
