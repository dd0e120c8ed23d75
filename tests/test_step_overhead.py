"""The per-step work around the kernel: clipping only when over the limit, a one-pass EMA."""

from __future__ import annotations

import copy

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from lstmkit.callbacks.weight_averaging import WeightEMA, auto_every
from lstmkit.models.classifier import RecurrentClassifier
from lstmkit.tasks.classification import ClassificationTask
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


def test_auto_updates_a_dozen_times_a_memory_at_most_four_steps_apart():
    assert [auto_every(1 - 1 / m) for m in (3, 23, 24, 47, 48, 200)] == [1, 1, 2, 3, 4, 4]


def test_weight_ema_updates_every_tensor_in_one_lerp():
    ema = WeightEMA(decay=0.9)
    averaged = [torch.zeros(3), torch.full((2, 2), 4.0)]
    current = [torch.ones(3), torch.zeros(2, 2)]
    ema._average(averaged, current, torch.tensor(1))
    assert torch.allclose(averaged[0], torch.full((3,), 0.1))
    assert torch.allclose(averaged[1], torch.full((2, 2), 3.6))


class LiveWeights(L.Callback):
    """The live weights after every optimiser step (validation swaps the average in between)."""

    def __init__(self) -> None:
        self.steps: list[list[torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps.append([p.detach().clone() for p in pl_module.parameters()])


@pytest.mark.parametrize("every", [1, 3])
def test_weight_ema_over_a_real_fit_is_the_textbook_average(every):
    g = torch.Generator().manual_seed(0)
    data = [
        {
            "inputs": torch.randint(1, 40, (6, 5), generator=g),
            "lengths": torch.tensor([5, 4, 5, 2, 5, 3]),
            "targets": torch.randint(0, 3, (6,), generator=g),
        }
        for _ in range(4)
    ]
    torch.manual_seed(0)
    net = RecurrentClassifier(num_classes=3, vocab_size=40, embedding_dim=8, hidden_size=8)
    task = ClassificationTask(net, lambda p: torch.optim.Adam(p, lr=5e-2), num_classes=3)
    live, ema = LiveWeights(), WeightEMA(decay=0.7, every_n_steps=every)
    trainer = L.Trainer(
        max_epochs=3,
        callbacks=[live, ema],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    loader = DataLoader(data, batch_size=None)
    trainer.fit(task, loader, loader)  # validation swaps the average in and out each epoch
    # updated after steps 1, 1 + every, ...: a textbook EMA of those, decay 0.7 a step
    updates = live.steps[::every]
    expected = updates[0]
    for weights in updates[1:]:
        expected = [a + (w - a) * (1 - 0.7**every) for a, w in zip(expected, weights, strict=True)]
    assert len(live.steps) == 12
    assert int(ema._average_model.n_averaged) == len(updates)
    assert ema._pairs is not None  # updates after the first took the cached one-lerp path
    # after fit the module holds the average (Lightning copies it in at the end of training)
    for ours, theirs in zip(task.parameters(), expected, strict=True):
        assert torch.allclose(ours, theirs, atol=1e-6)
