import pytest
import torch

from lstmkit.models.pooling import Pooling
from lstmkit.models.recurrent import step_mask


@pytest.mark.parametrize("mode", ["mean", "max", "attention", "last"])
def test_pooling_ignores_pads(mode):
    torch.manual_seed(0)
    pool = Pooling(mode, 4)
    lengths = torch.tensor([3, 1])
    out = torch.randn(2, 5, 4)
    final = torch.randn(2, 4)
    noisy = out.clone()
    noisy[0, 3:] = 1e3  # values past each end must not matter
    noisy[1, 1:] = -1e3
    torch.testing.assert_close(pool(out, lengths, final), pool(noisy, lengths, final))


def test_mean_and_max_values():
    out = torch.tensor([[[1.0], [3.0], [100.0]]])
    lengths = torch.tensor([2])
    assert Pooling("mean", 1)(out, lengths, out[:, 0]).item() == 2.0
    assert Pooling("max", 1)(out, lengths, out[:, 0]).item() == 3.0


def test_mean_over_outputs_zero_past_the_end_skips_the_mask_and_agrees():
    torch.manual_seed(0)
    lengths = torch.tensor([3, 1, 5])
    out = torch.randn(3, 5, 4) * step_mask(lengths, 5)[:, :, None]
    final = out[:, 0]
    trusting, masking = Pooling("mean", 4, zero_past_end=True), Pooling("mean", 4)
    torch.testing.assert_close(trusting(out, lengths, final), masking(out, lengths, final))
    noisy = out.clone()
    noisy[1, 1:] = 1.0  # the promise broken: the pad values are summed, as documented
    assert not torch.allclose(trusting(noisy, lengths, final), masking(noisy, lengths, final))
