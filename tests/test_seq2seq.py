"""The seq2seq forecaster: shapes, teacher forcing, and free running that never reads targets."""

from __future__ import annotations

import pytest
import torch

from lstmkit.models.seq2seq import Seq2SeqForecaster

VARIANTS = [
    {"head": "autoregressive"},
    {"head": "autoregressive", "attention": True, "num_layers": 2},
    {"head": "autoregressive", "cell": "gru", "relative": False},
    {"head": "direct"},
]


@pytest.mark.parametrize("kw", VARIANTS)
def test_forecast_shapes_and_free_running_never_reads_the_target(kw):
    torch.manual_seed(0)
    net = Seq2SeqForecaster(input_size=3, horizon=5, num_targets=2, hidden_size=8, **kw)
    inputs, lengths = torch.randn(4, 7, 3), torch.tensor([7, 7, 5, 2])
    poisoned = torch.full((4, 5, 2), float("nan"))  # any read of it would spread NaN
    free = net(inputs, lengths)
    assert free.shape == (4, 5, 2)
    assert torch.equal(net(inputs, lengths, targets=poisoned, teacher_forcing=0.0), free)
    assert torch.isfinite(free).all()
    if kw["head"] == "autoregressive":
        forced = net(inputs, lengths, targets=poisoned, teacher_forcing=1.0)
        assert forced.shape == (4, 5, 2)
        assert torch.isfinite(forced[:, 0]).all() and torch.isnan(forced[:, 1:]).all()


def test_teacher_forcing_feeds_the_truth_and_gradients_flow():
    torch.manual_seed(0)
    net = Seq2SeqForecaster(input_size=1, horizon=4, hidden_size=8)
    torch.nn.init.normal_(net.head.weight)  # as if trained: a zero head ignores what it is fed
    inputs, lengths = torch.randn(3, 6, 1), torch.full((3,), 6)
    targets = torch.randn(3, 4, 1)
    forced = net(inputs, lengths, targets=targets, teacher_forcing=1.0)
    free = net(inputs, lengths)
    assert torch.allclose(forced[:, 0], free[:, 0])  # the first step sees no target either way
    assert not torch.allclose(forced[:, 1:], free[:, 1:])
    forced.pow(2).mean().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_padding_does_not_change_a_shorter_windows_forecast():
    torch.manual_seed(0)
    net = Seq2SeqForecaster(input_size=2, horizon=3, hidden_size=8, attention=True).eval()
    x = torch.randn(1, 4, 2)
    padded = torch.cat([x, torch.randn(1, 3, 2)], dim=1)
    alone = net(x, torch.tensor([4]))
    together = net(padded, torch.tensor([4]))
    assert torch.allclose(alone, together, atol=1e-6)


def test_a_classifier_on_forecasting_data_is_a_config_error(tmp_path):
    import pandas as pd
    from omegaconf import OmegaConf

    from lstmkit.data.timeseries import TimeSeriesDataModule
    from lstmkit.errors import ConfigError
    from lstmkit.pipeline import build_model

    csv = tmp_path / "s.csv"
    pd.DataFrame({"time": range(60), "value": range(60)}).to_csv(csv, index=False)
    dm = TimeSeriesDataModule(
        str(csv), input_length=8, horizon=4, val_size=4, test_size=4, cache_dir=str(tmp_path / "c")
    )
    dm.setup()
    cfg = OmegaConf.create({"model": {"_target_": "lstmkit.models.classifier.RecurrentClassifier"}})
    with pytest.raises(ConfigError, match="Forecasting data needs model=seq2seq"):
        build_model(cfg, dm)
    cfg.model._target_ = "lstmkit.models.seq2seq.Seq2SeqForecaster"
    spec, net = build_model(cfg, dm)
    assert net.horizon == 4 and spec.to_dict()["params"]["horizon"] == 4
