"""A fully convolutional branch beside the LSTM (LSTM-FCN, Karim et al. 2017), numeric input only.

Meant for small shape-like sets, where 1-NN Euclidean beats a recurrent summary of patches:
a few convolutions over the raw steps, averaged over the series, see local shapes. On
ArrowHead's outer cross-validation it did not beat the plain model (it overfits 27 series;
docs/shape.md), so it is opt-in: `model.conv_branch=true`.

The branch reads the raw steps: a patched input [B, T, p x F] is a reshape of the raw [B, T x p,
F] (the last patch repeats the last step), so the model undoes it with the data's patch size.
Padding never changes a series' result: every block masks its output past the series' end, so
the next convolution reads zeros there exactly as its own zero padding of an unpadded series
would, and the normalisation is a batch norm whose statistics are taken over valid steps only
(in evaluation it applies fixed running statistics, so each series' features are its own).
"""

from __future__ import annotations

import torch
from torch import nn

from lstmkit.models.recurrent import step_mask

CHANNELS = (64, 128, 64)
AUTO_NUMERIC = False  # what null means for numeric sequences: decided on outer CV (docs/shape.md)
KERNELS = (7, 5, 3)  # odd: symmetric "same" padding (LSTM-FCN uses 8, 5, 3)


def resolve(setting: bool | None, numeric: bool) -> bool:
    """`model.conv_branch`: null (auto) is AUTO_NUMERIC for numeric sequences, off for text."""
    if setting is None:
        return numeric and AUTO_NUMERIC
    if setting and not numeric:
        raise ValueError("model.conv_branch applies to numeric sequences only (not to text)")
    return setting


class MaskedBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d over [B, C, T] whose training statistics skip the padded steps."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x = x.float()  # statistics over thousands of steps: not in bf16 under autocast
        running_mean, running_var = self.running_mean, self.running_var
        assert running_mean is not None and running_var is not None  # tracked (the default)
        assert self.num_batches_tracked is not None and self.momentum is not None
        if self.training:
            count = mask.sum().clamp(min=1)
            mean = (x * mask).sum((0, 2)) / count
            var = (((x - mean[None, :, None]) * mask) ** 2).sum((0, 2)) / count
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp(min=1)
                running_mean.lerp_(mean.detach(), self.momentum)
                running_var.lerp_(unbiased.detach(), self.momentum)
                self.num_batches_tracked.add_(1)
        else:
            mean, var = running_mean, running_var
        scale = self.weight * torch.rsqrt(var + self.eps)
        return (x - mean[None, :, None]) * scale[None, :, None] + self.bias[None, :, None]


class ConvBranch(nn.Module):
    """Raw steps [B, T x patch, features] -> conv blocks -> masked mean over valid steps [B, 64]."""

    def __init__(self, features: int, patch: int) -> None:
        super().__init__()
        self.features, self.patch = features, patch
        sizes = (features, *CHANNELS[:-1])
        self.convs = nn.ModuleList(
            nn.Conv1d(i, o, k, padding="same")
            for i, o, k in zip(sizes, CHANNELS, KERNELS, strict=True)
        )
        self.norms = nn.ModuleList(MaskedBatchNorm(c) for c in CHANNELS)
        self.output_size = CHANNELS[-1]

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """inputs [B, T, patch x features] (patched) and their lengths -> [B, output_size]."""
        batch, steps = inputs.shape[:2]
        raw = inputs.reshape(batch, steps * self.patch, self.features).transpose(1, 2)
        raw_lengths = lengths.to(inputs.device) * self.patch
        mask = step_mask(raw_lengths, raw.size(2))[:, None, :].to(raw.dtype)
        x = raw * mask
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = torch.relu(norm(conv(x), mask)) * mask
        return x.sum(2) / raw_lengths.clamp(min=1).to(x.dtype)[:, None]
