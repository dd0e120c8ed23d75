"""The yardstick: a stock bidirectional `nn.LSTM` forward+backward, nothing else around it.

Same shapes as the BBC News model (batch 32 x 344 steps x 128 features, hidden 128), no pads,
no embedding, no optimizer. The pipeline's tokens/s divided by this is how much of the
machine's LSTM speed the whole training loop keeps.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from lstmkit.runtime import available_cpus

SHAPE = (32, 344, 128)


def kernel_step(lstm: nn.LSTM, x: torch.Tensor, bf16: bool) -> None:
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        out = lstm(x)[0]
    out.float().sum().backward()
    if x.is_cuda:
        torch.cuda.synchronize()


def kernel_tokens_per_s(
    repeats: int = 5, threads: list[int] | None = None, device: str = "cpu"
) -> dict[str, float]:
    """Tokens/s per (precision, threads), interleaved so machine load hits every case alike.

    On CUDA this is cuDNN's bidirectional LSTM; the thread count does not apply there.
    """
    torch.manual_seed(0)
    lstm = nn.LSTM(SHAPE[2], 128, batch_first=True, bidirectional=True).to(device)
    x = torch.randn(*SHAPE, device=device, requires_grad=True)
    before = torch.get_num_threads()
    counts = [before] if device != "cpu" else threads or sorted({1, available_cpus()})
    cases = [(bf16, n) for bf16 in (False, True) for n in counts]
    samples: dict[tuple[bool, int], list[float]] = {c: [] for c in cases}
    try:
        for rep in range(repeats + 1):
            for bf16, n in cases:
                torch.set_num_threads(n)
                start = time.perf_counter()
                kernel_step(lstm, x, bf16)
                if rep:  # the first round warms up oneDNN's kernels
                    samples[(bf16, n)].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    tokens = SHAPE[0] * SHAPE[1]
    return {
        f"{'bf16' if bf16 else 'fp32'}_{n}t": tokens / statistics.median(s)
        for (bf16, n), s in samples.items()
    }
