"""The per-step work around the kernel: clipping only when over the limit, a one-pass EMA."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from lstmkit.callbacks.weight_averaging import WeightEMA
from lstmkit.tasks.optim import ClipWhenOver


class Tiny(ClipWhenOver):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Embedding(50, 8), nn.Linear(8, 3))


def with_grads(scale: float) -> tuple[Tiny, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = Tiny()
    for p in model.parameters():
        p.grad = torch.randn_like(p) * scale
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


def twin(model: Tiny) -> Tiny:
    """A copy with copies of the gradients (deepcopy leaves them behind)."""
    other = copy.deepcopy(model)
    for mine, theirs in zip(other.parameters(), model.parameters(), strict=True):
        mine.grad = theirs.grad.clone()
    return other


@pytest.mark.parametrize("scale", [1e-3, 1.0, 10.0])
def test_clipping_gives_torch_numbers_and_skips_the_multiply_under_the_limit(scale):
    model, optimizer = with_grads(scale)
    reference = twin(model)
    norm = torch.nn.utils.clip_grad_norm_(reference.parameters(), 1.0)  # the norm before
    before = [p.grad.data_ptr() for p in model.parameters()]
    versions = [p.grad._version for p in model.parameters()]
    model.configure_gradient_clipping(optimizer, 1.0, "norm")
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(ours.grad, theirs.grad)
    assert [p.grad.data_ptr() for p in model.parameters()] == before  # in place
    touched = [p.grad._version != v for p, v in zip(model.parameters(), versions, strict=True)]
    if scale < 0.1:  # far under the limit: no gradient written
        assert float(norm) < 1.0 and not any(touched)
    if scale > 0.5:  # over it: every gradient scaled, as torch does
        assert float(norm) > 1.0 and all(touched)


def test_non_finite_norms_are_clipped_as_torch_clips_them():
    model, optimizer = with_grads(1.0)
    next(model.parameters()).grad[0, 0] = float("inf")
    reference = twin(model)
    torch.nn.utils.clip_grad_norm_(reference.parameters(), 1.0)
    model.configure_gradient_clipping(optimizer, 1.0, "norm")
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(ours.grad.nan_to_num(), theirs.grad.nan_to_num())


def test_weight_ema_updates_every_tensor_in_one_lerp():
    ema = WeightEMA(decay=0.9)
    averaged = [torch.zeros(3), torch.full((2, 2), 4.0)]
    current = [torch.ones(3), torch.zeros(2, 2)]
    ema._average(averaged, current, torch.tensor(1))
    assert torch.allclose(averaged[0], torch.full((3,), 0.1))
    assert torch.allclose(averaged[1], torch.full((2, 2), 3.6))
