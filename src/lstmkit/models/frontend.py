"""Input layers for numeric sequences: a per-step linear projection, or a small convolution.

`linear` maps each (patched) step to the embedding on its own. `conv` lets each step also see
its neighbours (kernel 3, so with 8-step patches a window of 24 raw steps, stride 8) and adds a
non-linearity, which local shapes such as ArrowHead's outlines may need before the LSTM.

Padding stays exact: batches are right-padded with zeros (`Ragged.pad`) and the convolution
pads with zeros too, so the last real step of a short sequence sees the same zeros whether it
shares a batch with longer sequences or not; outputs past a sequence's length are never read.
"""

from __future__ import annotations

import torch
from torch import nn

FRONTENDS = ("linear", "conv")
KERNEL = 3  # steps each output step reads: itself and one neighbour either side


class ConvFrontend(nn.Module):
    """Time-major [T, B, F] -> [T, B, E]: Conv1d over time (same length), then GELU."""

    def __init__(self, input_size: int, embedding_dim: int, kernel: int = KERNEL) -> None:
        super().__init__()
        self.conv = nn.Conv1d(input_size, embedding_dim, kernel, padding=kernel // 2)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.permute(1, 2, 0))  # [B, F, T]
        return self.act(y).permute(2, 0, 1)


def numeric_frontend(kind: str, input_size: int, embedding_dim: int) -> nn.Module:
    """The classifier's input layer for `model.frontend` (numeric input only)."""
    if kind not in FRONTENDS:
        raise ValueError(f"model.frontend must be one of {FRONTENDS}, got {kind!r}")
    if kind == "conv":
        return ConvFrontend(input_size, embedding_dim)
    return nn.Linear(input_size, embedding_dim)
