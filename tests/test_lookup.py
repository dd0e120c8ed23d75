"""The CPU embedding gradient by index_add_: bitwise the stock gradient, stock elsewhere."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstmkit.models.classifier import RecurrentClassifier
from lstmkit.models.lookup import Embedding


def twins(padding_idx: int | None) -> tuple[nn.Embedding, Embedding]:
    torch.manual_seed(0)
    stock = nn.Embedding(300, 16, padding_idx=padding_idx)
    ours = Embedding(300, 16, padding_idx=padding_idx)
    ours.load_state_dict(stock.state_dict())
    return stock, ours


@pytest.mark.parametrize("padding_idx", [0, None])
@pytest.mark.parametrize("threads", [1, 2])
def test_gradient_is_bitwise_the_stock_one(padding_idx, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        stock, ours = twins(padding_idx)
        g = torch.Generator().manual_seed(1)
        ids = torch.randint(0, 300, (32, 120), generator=g)
        ids[:, 100:] = 0  # pads, and ids repeated many times (the accumulation order matters)
        upstream = torch.randn(32, 120, 16, generator=g)
        for layer in (stock, ours):
            (layer(ids) * upstream).sum().backward()
        assert torch.equal(ours(ids), stock(ids))
        assert torch.equal(ours.weight.grad, stock.weight.grad)
        if padding_idx is not None:
            assert not ours.weight.grad[padding_idx].any()
    finally:
        torch.set_num_threads(before)


def test_the_classifier_uses_it_and_keeps_the_stock_state_dict():
    net = RecurrentClassifier(num_classes=2, vocab_size=50, embedding_dim=8, hidden_size=8)
    assert type(net.input_layer) is Embedding
    stock = nn.Embedding(50, 8, padding_idx=0)
    stock.load_state_dict(net.input_layer.state_dict())  # same keys and shapes
    ids = torch.randint(0, 50, (3, 7))
    with torch.no_grad():
        assert torch.equal(net.input_layer(ids), stock(ids))


def test_options_the_fast_gradient_does_not_cover_take_the_stock_path():
    ids = torch.tensor([[1, 2, 2, 0]])
    for layer in (Embedding(10, 4, max_norm=1.0), Embedding(10, 4, scale_grad_by_freq=True)):
        out = layer(ids)
        assert out.grad_fn is not None and "Lookup" not in type(out.grad_fn).__name__
    out = Embedding(10, 4)(ids)
    assert "Lookup" in type(out.grad_fn).__name__
