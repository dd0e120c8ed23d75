"""The yardstick: a stock bidirectional `nn.LSTM` forward+backward, nothing else around it.

Two figures, both time-major (nn.LSTM's own layout, as the pipeline runs it), no embedding,
no optimizer:

* `fixed`: one 32 x 344 x 128 batch without pads, hidden 128: the issue's figure, comparable
  across machines and commits;
* `same_shapes`: the padded [batch, length] shapes of one real BBC training epoch (length
  bucketed, as the pipeline draws them), sorted by length, the middle one of every 4, so the
  sample spans short and long batches; tokens counted as the pipeline counts them: non-pad
  only. The one partial batch per epoch (1 of 47) falls outside the sample, which if anything
  makes the yardstick faster.

The pipeline's ratio is taken against `same_shapes`: like with like.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lstmkit.runtime import available_cpus

SHAPE = (32, 344, 128)
Shape = tuple[int, int, int]  # batch, padded length, non-pad tokens


def epoch_shapes(every: int = 4) -> list[Shape]:
    """(batch, padded length, non-pad tokens) of one batch in `every` of a training epoch."""
    from benchmarks.training import datamodule  # the same config and sampler as the pipeline

    with tempfile.TemporaryDirectory() as tmp:
        _, dm = datamodule(400, Path(tmp))
    lengths = np.asarray(dm.splits["train"].inputs.lengths)
    sampler = dm.train_dataloader().batch_sampler
    shapes = sorted((len(b), int(lengths[b].max()), int(lengths[b].sum())) for b in sampler)
    return shapes[every // 2 :: every]  # the middle of each group of `every` by length


def kernel_step(lstm: nn.LSTM, xs: list[torch.Tensor], bf16: bool) -> None:
    for x in xs:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            out = lstm(x)[0]
        out.float().sum().backward()
    if xs[0].is_cuda:
        torch.cuda.synchronize()


def kernel_tokens_per_s(
    repeats: int = 5,
    threads: list[int] | None = None,
    device: str = "cpu",
    shapes: list[Shape] | None = None,
    precisions: tuple[bool, ...] = (False, True),
) -> dict[str, float]:
    """Tokens/s per (precision, threads), interleaved so machine load hits every case alike.

    `shapes` (from `epoch_shapes`) times those batches, one pass each per sample; without it,
    the fixed 32 x 344 batch. `precisions`: which of fp32 (False) and bf16 (True) to time. On
    CUDA this is cuDNN's bidirectional LSTM; the thread count does not apply there.
    """
    torch.manual_seed(0)
    lstm = nn.LSTM(SHAPE[2], 128, bidirectional=True).to(device)
    shapes = shapes or [(SHAPE[0], SHAPE[1], SHAPE[0] * SHAPE[1])]
    xs = [torch.randn(t, b, SHAPE[2], device=device, requires_grad=True) for b, t, _ in shapes]
    before = torch.get_num_threads()
    counts = [before] if device != "cpu" else threads or sorted({1, available_cpus()})
    cases = [(bf16, n) for bf16 in precisions for n in counts]
    samples: dict[tuple[bool, int], list[float]] = {c: [] for c in cases}
    try:
        for rep in range(repeats + 1):
            for bf16, n in cases:
                torch.set_num_threads(n)
                start = time.perf_counter()
                kernel_step(lstm, xs, bf16)
                if rep:  # the first round warms up oneDNN's kernels
                    samples[(bf16, n)].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    tokens = sum(s[2] for s in shapes)
    return {
        f"{'bf16' if bf16 else 'fp32'}_{n}t": tokens / statistics.median(s)
        for (bf16, n), s in samples.items()
    }
