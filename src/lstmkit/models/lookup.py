"""A token embedding whose CPU gradient is one `index_add_`: the same numbers, 2-3x sooner.

aten's CPU `embedding_dense_backward` has each thread scan every token id and add the rows that
fall in its share of the vocabulary, one small tensor operation per id: 0.6-0.85 ms for a
32 x 400 BBC News batch at 2 threads. Zeros plus one `index_add_` over the same ids adds the
rows in the same order (so the result is bitwise equal, tested) in 0.3 ms, about 1% of a step.

Only the CPU training path changes. Elsewhere (CUDA, no gradient, tracing for ONNX export,
`max_norm`, `scale_grad_by_freq`, sparse gradients) it is the stock `nn.Embedding`, and its
state_dict is the stock one, so run folders load either way.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class _Lookup(torch.autograd.Function):
    """Rows of `weight` picked by `ids`; the gradient is scattered back with `index_add_`."""

    @staticmethod
    def forward(
        ctx: Any, weight: torch.Tensor, ids: torch.Tensor, padding_idx: int | None
    ) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.rows, ctx.padding_idx = weight.size(0), padding_idx
        return F.embedding(ids, weight, padding_idx)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (ids,) = ctx.saved_tensors
        width = grad.size(-1)
        out = grad.new_zeros(ctx.rows, width)
        out.index_add_(0, ids.reshape(-1), grad.reshape(-1, width))
        if ctx.padding_idx is not None:
            out[ctx.padding_idx] = 0  # the pad row never learns, as in nn.Embedding
        return out, None, None


class Embedding(nn.Embedding):
    """`nn.Embedding` with the `index_add_` gradient on CPU (same parameters, same numbers)."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self._stock(ids):
            return super().forward(ids)
        return _Lookup.apply(self.weight, ids, self.padding_idx)

    def _stock(self, ids: torch.Tensor) -> bool:
        return (
            ids.device.type != "cpu"
            or not (self.weight.requires_grad and torch.is_grad_enabled())
            or torch.jit.is_tracing()
            or torch.onnx.is_in_onnx_export()
            or self.max_norm is not None
            or self.scale_grad_by_freq
            or self.sparse
        )
