"""`model.pooling=segments`: position-aware pooling, the means of equal shares of each series."""

from __future__ import annotations

import torch

from lstmkit.models.classifier import RecurrentClassifier
from lstmkit.models.pooling import segment_means


def test_each_share_of_the_valid_steps_is_averaged_in_order():
    outputs = torch.arange(10.0)[None, :, None].repeat(2, 1, 1)
    outputs[1, 5:] = 99.0  # padding past the second row's 5 steps
    means = segment_means(outputs, torch.tensor([10, 5]), 4)
    assert means.tolist() == [[1.0, 3.5, 6.0, 8.5], [0.5, 2.0, 3.0, 4.0]]


def test_a_padded_series_scores_as_it_does_alone():
    torch.manual_seed(0)
    model = RecurrentClassifier(3, input_size=4, pooling="segments", hidden_size=8).eval()
    x, lengths = torch.randn(2, 20, 4), torch.tensor([20, 11])
    together = model(x, lengths)
    alone = model(x[1:, :11], lengths[1:])
    assert torch.allclose(together[1], alone[0], atol=1e-5)
    assert model.head[1].in_features == 16 * 8  # 8 shares of the BiLSTM's 16 outputs
