"""The same trained network run in another number format for faster CPU inference.

* `fp32`: as trained;
* `bf16`: weights and activations in bfloat16 (fast only on CPUs with bf16 units, AMX/AVX512);
* `int8`: PyTorch dynamic quantisation: `nn.LSTM` and `nn.Linear` weights stored as int8,
  activations quantised per batch on the fly; the embedding stays fp32.

`benchmarks/inference_modes.py` measures docs/s and the accuracy change of each on a run's
validation split (never on test); docs/scale.md has the numbers.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from lstmkit.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "int8")


class _BFloat16(nn.Module):
    """Run `net` in bfloat16; return float32 outputs (numpy has no bfloat16)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net.to(torch.bfloat16)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if inputs.is_floating_point():
            inputs = inputs.to(torch.bfloat16)
        return self.net(inputs, lengths).float()


def for_inference(net: nn.Module, precision: str = "fp32") -> nn.Module:
    """A copy of `net` in `precision` (fp32 returns `net` itself), in eval mode."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "fp32":
        return net.eval()
    net = copy.deepcopy(net).eval()
    if precision == "bf16":
        return _BFloat16(net).eval()
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(net, {nn.LSTM, nn.Linear}, torch.qint8)
