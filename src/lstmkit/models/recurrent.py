"""One recurrent encoder for every task, exact on padded batches, fast on each device.

Each layer and direction is a single-layer `nn.LSTM` (or `nn.GRU`). Two execution paths give
the same numbers (tested to 1e-5):

* ``packed``: `pack_padded_sequence`; the fast path with cuDNN on GPU.
* ``padded``: the padded batch run as is. Forward direction outputs at valid steps never see
  the pads (pads come after them). The backward direction runs over each sequence reversed
  within its own length, so it too starts at the last real step. On CPU this is about 14x
  faster than packing, whose backward pass spends most of its time zero-filling.

``auto`` picks packed on CUDA and padded elsewhere. Outputs past a sequence's end are zero.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
BACKENDS = ("auto", "packed", "padded")


def step_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """[B, T] boolean mask of valid time steps."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def reverse_index(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """[B, T] gather index that reverses each row's first `length` steps and keeps the pads."""
    t = torch.arange(steps, device=lengths.device)[None, :]
    lens = lengths[:, None]
    return torch.where(t < lens, lens - 1 - t, t)


def reverse_within_length(
    x: torch.Tensor, lengths: torch.Tensor, index: torch.Tensor | None = None
) -> torch.Tensor:
    """Reverse each row's first `length` steps, leaving the pads in place; its own inverse."""
    if index is None:
        index = reverse_index(lengths.to(x.device), x.size(1))
    return x.gather(1, index[:, :, None].expand_as(x))


class RecurrentEncoder(nn.Module):
    """Stacked (bi)directional LSTM/GRU over right-padded batches; pads never change results."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        cell: str = "lstm",
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"model.cell must be one of {sorted(CELLS)}, got {cell!r}")
        if backend not in BACKENDS:
            raise ValueError(f"model.backend must be one of {BACKENDS}, got {backend!r}")
        if hidden_size < 1 or num_layers < 1:
            raise ValueError("model.hidden_size and model.num_layers must be >= 1")
        self.cell, self.backend = cell, backend
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.num_directions = 2 if bidirectional else 1
        self.output_size = hidden_size * self.num_directions
        rnn = CELLS[cell]
        self.layers = nn.ModuleList()
        for layer in range(num_layers):
            size = input_size if layer == 0 else self.output_size
            self.layers.append(
                nn.ModuleList(
                    rnn(size, hidden_size, batch_first=True) for _ in range(self.num_directions)
                )
            )
        self.dropout = nn.Dropout(dropout)

    def resolve_backend(self, device: torch.device) -> str:
        if self.backend != "auto":
            return self.backend
        return "packed" if device.type == "cuda" else "padded"

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, T, F], lengths [B] -> outputs [B, T, H*D] (zero past the end), final [B, H*D].

        `final` is the forward direction at each sequence's last step joined with the backward
        direction at its first step: the usual "last hidden state" of a bidirectional RNN.
        """
        steps = x.size(1)
        lengths_here = lengths.to(x.device)
        if self.resolve_backend(x.device) == "packed":
            lengths_cpu = lengths.cpu()  # packing needs host lengths: one transfer per batch

            def run(rnn: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
                packed = pack_padded_sequence(
                    inputs, lengths_cpu, batch_first=True, enforce_sorted=False
                )
                return pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=steps)[0]
        else:

            def run(rnn: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
                return rnn(inputs)[0]  # valid steps never see the (trailing) pads

        mask = step_mask(lengths_here, steps)[:, :, None]
        backward = reverse_index(lengths_here, steps) if self.num_directions == 2 else None
        out = x
        for i, directions in enumerate(self.layers):
            if i > 0:
                out = self.dropout(out)
            parts = [run(directions[0], out)]
            if backward is not None:
                flipped = run(directions[1], reverse_within_length(out, lengths, backward))
                parts.append(reverse_within_length(flipped, lengths, backward))
            out = torch.cat(parts, dim=-1) * mask
        return out, self._final(out, lengths_here)

    def _final(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        last = (lengths.to(out.device) - 1).clamp(min=0)
        rows = torch.arange(out.size(0), device=out.device)
        forward_last = out[rows, last, : self.hidden_size]
        if self.num_directions == 1:
            return forward_last
        return torch.cat([forward_last, out[:, 0, self.hidden_size :]], dim=-1)
