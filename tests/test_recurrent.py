"""The exact padded path must match packed sequences; pads must never change a result."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmkit.models.recurrent import RecurrentEncoder, reverse_within_length, step_mask


def batch(b=6, t=11, f=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, f, generator=g)
    lengths = torch.tensor([11, 1, 7, 3, 11, 5][:b])
    x = x * step_mask(lengths, t)[:, :, None]
    return x, lengths


def backward_grads(
    enc: RecurrentEncoder, x: torch.Tensor, loss: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Backpropagate `loss`; the input's and every parameter's gradient, then cleared."""
    loss.backward()
    grads = x.grad.clone(), [p.grad.clone() for p in enc.parameters()]
    x.grad = None
    enc.zero_grad()
    return grads


def test_reverse_within_length_is_its_own_inverse_and_keeps_pads():
    x = torch.arange(8.0).reshape(2, 4, 1)
    lengths = torch.tensor([4, 2])
    r = reverse_within_length(x, lengths)
    assert r[:, :, 0].tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]
    assert torch.equal(reverse_within_length(r, lengths), x)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_padded_path_matches_packed_path(cell, bidirectional, num_layers):
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, num_layers, bidirectional, cell=cell).eval()
    x, lengths = batch()
    x.requires_grad_(True)
    enc.backend = "padded"
    out_pad, fin_pad = enc(x, lengths)
    (out_pad.sum() + fin_pad.sum()).backward()
    grad_pad = x.grad.clone()
    x.grad = None
    enc.backend = "packed"
    out_pack, fin_pack = enc(x, lengths)
    (out_pack.sum() + fin_pack.sum()).backward()
    torch.testing.assert_close(out_pad, out_pack, atol=1e-5, rtol=0)
    torch.testing.assert_close(fin_pad, fin_pack, atol=1e-5, rtol=0)
    torch.testing.assert_close(grad_pad, x.grad, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_matches_torch_bidirectional_packed_on_the_unpadded_part(cell):
    """Same weights in a stock bidirectional nn.LSTM/GRU fed a PackedSequence."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, 1, True, cell=cell, backend="padded").eval()
    ref = (nn.LSTM if cell == "lstm" else nn.GRU)(5, 8, batch_first=True, bidirectional=True)
    fwd, bwd = enc.layers[0]
    with torch.no_grad():
        for name, p in fwd.named_parameters():
            getattr(ref, name).copy_(p)
            getattr(ref, name + "_reverse").copy_(dict(bwd.named_parameters())[name])
    x, lengths = batch()
    ours, _ = enc(x, lengths)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    theirs, _ = pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=x.size(1))
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_plain_padding_is_not_exact_for_the_backward_direction():
    """Why the reversal exists: a stock bidirectional LSTM over pads gives other numbers."""
    torch.manual_seed(0)
    ref = nn.LSTM(5, 8, batch_first=True, bidirectional=True)
    x, lengths = batch()
    padded = ref(x)[0]
    packed = pad_packed_sequence(
        ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))[0],
        batch_first=True,
        total_length=x.size(1),
    )[0]
    mask = step_mask(lengths, x.size(1))
    assert (padded - packed)[mask].abs().max() > 1e-3


@pytest.mark.parametrize("backend", ["padded", "packed"])
def test_extra_padding_changes_nothing(backend):
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, 2, True, backend=backend).eval()
    x, lengths = batch()
    longer = torch.cat([x, torch.randn(x.size(0), 4, 5)], dim=1)  # garbage in the pads
    out, fin = enc(x, lengths)
    out2, fin2 = enc(longer, lengths)
    torch.testing.assert_close(out, out2[:, : x.size(1)], atol=1e-6, rtol=0)
    assert out2[:, x.size(1) :].abs().max() == 0
    torch.testing.assert_close(fin, fin2, atol=1e-6, rtol=0)


def test_auto_backend_follows_the_device():
    enc = RecurrentEncoder(3, 4)
    assert enc.resolve_backend(torch.device("cpu")) == "padded"
    assert enc.resolve_backend(torch.device("cuda")) == "packed"
    assert RecurrentEncoder(3, 4, backend="packed").resolve_backend(torch.device("cpu")) == "packed"


@pytest.mark.parametrize("backend", ["padded", "packed"])
def test_bf16_autocast_stays_close_to_the_exact_fp32_result(backend):
    """Exactness is checked in fp32 above; bf16 (8-bit mantissa) gets its own bound here."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, 2, True, backend=backend).eval()
    x, lengths = batch()
    enc.backend = "packed"
    exact, exact_final = enc(x, lengths)
    enc.backend = backend
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, final = enc(x, lengths)
    assert backend == "packed" or out.dtype == torch.bfloat16  # the fast path really ran in bf16
    torch.testing.assert_close(out.float(), exact, atol=2e-2, rtol=0)
    torch.testing.assert_close(final.float(), exact_final, atol=2e-2, rtol=0)
    assert out[~step_mask(lengths, x.size(1))].abs().max() == 0  # pads stay exactly zero


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (scripts/gpu_check.sh)")
@pytest.mark.parametrize("num_layers", [1, 2])
def test_cuda_padded_path_matches_packed_cudnn(num_layers):
    """On GPU `auto` means packed (cuDNN): it must agree with the exact padded path there too."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, num_layers, True).cuda().eval()
    x, lengths = batch()
    x = x.cuda()
    enc.backend = "padded"
    out_pad, fin_pad = enc(x, lengths)
    enc.backend = "auto"
    out_auto, fin_auto = enc(x, lengths)
    torch.testing.assert_close(out_pad, out_auto, atol=1e-5, rtol=0)
    torch.testing.assert_close(fin_pad, fin_auto, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_uniform_length_batch_takes_one_bidirectional_call_and_matches_packed(cell, num_layers):
    """No pads in the batch: the stock bidirectional kernel runs, outputs and grads unchanged."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, num_layers, True, cell=cell, backend="padded").train()
    x = torch.randn(4, 9, 5, requires_grad=True)
    lengths = torch.full((4,), 9)
    results = []
    for backend in ("padded", "packed"):
        enc.backend = backend
        out, fin = enc(x, lengths)
        (out.pow(2).sum() + fin.sum()).backward()
        params = [p.grad.clone() for p in enc.parameters()]
        results.append((out, fin, x.grad.clone(), params))
        x.grad = None
        enc.zero_grad()
    (out_a, fin_a, gx_a, gp_a), (out_b, fin_b, gx_b, gp_b) = results
    torch.testing.assert_close(out_a, out_b, atol=1e-5, rtol=0)
    torch.testing.assert_close(fin_a, fin_b, atol=1e-5, rtol=0)
    torch.testing.assert_close(gx_a, gx_b, atol=1e-5, rtol=0)
    for a, b in zip(gp_a, gp_b, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_uniform_length_batch_runs_the_stock_bidirectional_kernel():
    """The fast path is really taken: the profiler sees one bidirectional LSTM call per layer."""
    enc = RecurrentEncoder(5, 8, 1, True, backend="padded")
    x = torch.randn(3, 6, 5)
    with torch.profiler.profile() as prof:
        enc(x, torch.full((3,), 6))
    calls = {e.key: e.count for e in prof.key_averages()}
    assert calls["aten::lstm"] == 1 and "aten::index_select" not in calls
    with torch.profiler.profile() as prof:
        enc(x, torch.tensor([6, 5, 6]))
    calls = {e.key: e.count for e in prof.key_averages()}
    assert calls["aten::lstm"] == 2 and calls["aten::index_select"] == 2


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_padded_path_gives_packed_weight_gradients_and_zeros_past_the_end(
    bidirectional, num_layers
):
    """Mixed lengths: outputs, input and weight gradients as packed, in fp32, and outputs past
    each row's end exactly zero (mean pooling sums them unmasked)."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, num_layers, bidirectional, dropout=0.0).train()
    x, lengths = batch()
    x.requires_grad_(True)
    results = []
    for backend in ("padded", "packed"):
        enc.backend = backend
        out, fin = enc(x, lengths)
        results.append((out, fin, *backward_grads(enc, x, out.pow(2).sum() + fin.sum())))
    (out_a, fin_a, gx_a, gp_a), (out_b, fin_b, gx_b, gp_b) = results
    past_end = out_a[~step_mask(lengths, x.size(1))]
    assert past_end.numel() > 0 and bool((past_end == 0).all())
    torch.testing.assert_close(out_a, out_b, atol=1e-5, rtol=0)
    torch.testing.assert_close(fin_a, fin_b, atol=1e-5, rtol=0)
    torch.testing.assert_close(gx_a, gx_b, atol=1e-5, rtol=0)
    for a, b in zip(gp_a, gp_b, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_uniform_length_batch_under_bf16_autocast_stays_close_to_fp32():
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, 2, True, backend="padded").eval()
    x, lengths = torch.randn(4, 9, 5), torch.full((4,), 9)
    exact, exact_final = enc(x, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, final = enc(x, lengths)
    assert out.dtype == torch.bfloat16  # the bidirectional call really ran in bf16
    torch.testing.assert_close(out.float(), exact, atol=2e-2, rtol=0)
    torch.testing.assert_close(final.float(), exact_final, atol=2e-2, rtol=0)


def test_a_trace_from_a_uniform_example_still_handles_mixed_lengths():
    """ONNX export traces one example batch: the shortcut must not be baked into the graph."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, 1, True, backend="padded").eval()
    example = (torch.randn(3, 11, 5), torch.full((3,), 11))
    with torch.no_grad():
        traced = torch.jit.trace(enc, example, check_trace=False)
        x, lengths = batch()
        torch.testing.assert_close(traced(x, lengths), enc(x, lengths), atol=1e-6, rtol=0)


def test_int8_dynamic_quantised_encoder_takes_the_general_path_on_uniform_batches():
    """Quantised LSTMs have no flat fp32 weights for the one-call shortcut (predict int8)."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, backend="padded").eval()
    quantized = torch.ao.quantization.quantize_dynamic(enc, {nn.LSTM}, dtype=torch.qint8)
    x, lengths = torch.randn(3, 6, 5), torch.full((3,), 6)
    with torch.no_grad():
        out, _ = quantized(x, lengths)
        exact, _ = enc(x, lengths)
    torch.testing.assert_close(out, exact, atol=0.1, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("backend", ["padded", "packed"])
@pytest.mark.parametrize("uniform", [False, True])
def test_mean_is_the_masked_mean_of_the_outputs_with_the_same_gradients(
    cell, bidirectional, num_layers, backend, uniform
):
    """`mean` skips the reversal back, the concatenation and the masked copy: same numbers."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, num_layers, bidirectional, cell=cell, backend=backend).train()
    x, lengths = batch()
    if uniform:
        lengths = torch.full_like(lengths, x.size(1))
    x.requires_grad_(True)
    target = torch.randn(len(lengths), enc.output_size)
    results = []
    for path in ("forward", "mean"):
        if path == "forward":
            out, _ = enc(x, lengths)
            pooled = out.sum(1) / lengths[:, None]  # zero past the end: a plain sum is masked
        else:
            pooled = enc.mean(x, lengths)
        results.append((pooled, *backward_grads(enc, x, (pooled * target).sum())))
    (pa, gxa, gpa), (pb, gxb, gpb) = results
    torch.testing.assert_close(pb, pa, atol=1e-6, rtol=0)
    torch.testing.assert_close(gxb, gxa, atol=1e-6, rtol=0)
    for a, b in zip(gpa, gpb, strict=True):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-6)


def test_mean_under_bf16_autocast_stays_close_to_fp32():
    torch.manual_seed(0)
    enc = RecurrentEncoder(5, 8, 1, True, backend="padded").eval()
    x, lengths = batch()
    exact = enc.mean(x, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        pooled = enc.mean(x, lengths)
    assert pooled.dtype == torch.bfloat16
    torch.testing.assert_close(pooled.float(), exact, atol=2e-2, rtol=0)
