"""Where one training step of the default BBC model spends its time, next to the stock kernel.

`python -m benchmarks.profile_step [--threads 2] [--steps 8]` profiles (torch.profiler) the
default classifier's forward, loss, backward, gradient clipping and fused Adam step on real
BBC News batches (one uniform-length batch, one of mixed lengths), in bf16 autocast and fp32,
and a stock bidirectional `nn.LSTM` forward+backward on the same batch. Prints self CPU time
per operator group in milliseconds per step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import nn
from torch.profiler import ProfilerActivity, profile

from benchmarks.training import datamodule, new_model
from lstmkit.runtime import configure_torch

# operator name fragment -> group, first match wins
GROUPS = (
    ("mkldnn_rnn", "LSTM kernel (oneDNN fwd+bwd)"),
    ("lstm", "LSTM kernel (oneDNN fwd+bwd)"),
    ("embedding", "embedding fwd+bwd"),
    ("index_select", "index_select (lookup, reversals)"),
    ("cat", "cat of directions"),
    ("fused_adam", "optimizer (fused Adam)"),
    ("foreach", "grad clipping"),
    ("norm", "grad clipping"),
    ("clamp", "grad clipping"),
    ("addmm", "head linear"),
    ("mm", "head linear"),
    ("log_softmax", "loss"),
    ("nll_loss", "loss"),
    ("sum", "pooling / mask"),
    ("mul", "pooling / mask"),
    ("div", "pooling / mask"),
    ("lt", "pooling / mask"),
    ("to", "casts / copies"),
    ("copy", "casts / copies"),
    ("fill", "zero fills"),
    ("zero", "zero fills"),
)


def group_of(name: str) -> str:
    low = name.lower()
    return next((g for key, g in GROUPS if key in low), "other")


def profiled_ms(step, steps: int) -> tuple[dict[str, float], float]:
    """Self CPU ms per step by group, and wall ms per step, after two warm-up steps."""
    for _ in range(2):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    groups: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        groups[group_of(event.key)] += event.self_cpu_time_total / 1000 / steps

    start = time.perf_counter()
    for _ in range(steps):
        step()
    wall = (time.perf_counter() - start) * 1000 / steps
    return dict(groups), wall


def model_step(model: nn.Module, opt: torch.optim.Optimizer, batch: dict, bf16: bool):
    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(batch["inputs"], batch["lengths"])
        loss = F.cross_entropy(logits.float(), batch["targets"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return step


def kernel_step(lstm: nn.LSTM, x: torch.Tensor, bf16: bool):
    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = lstm(x)[0]
        out.float().sum().backward()

    return step


def pick_batches(dm) -> dict[str, dict]:
    """One uniform-length batch (all 400 tokens) and one of mixed lengths, from BBC train."""
    from lstmkit.data.sampler import BucketBatchSampler

    train = dm.splits["train"]
    found: dict[str, dict] = {}
    for idx in BucketBatchSampler(train.inputs.lengths, 32, shuffle=True, seed=0):
        batch = train.__getitems__(idx)
        lengths = batch["lengths"]
        kind = "uniform" if bool((lengths == lengths[0]).all()) else "mixed"
        if len(idx) == 32 and kind not in found and (kind == "uniform" or lengths.min() > 250):
            found[kind] = batch
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    configure_torch(args.threads, True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, dm = datamodule(400, Path(tmp))
    batches = pick_batches(dm)
    for kind, batch in batches.items():
        lengths = batch["lengths"]
        tokens = int(lengths.sum())
        shape = tuple(batch["inputs"].shape)
        for bf16 in (True, False):
            model = new_model(cfg, dm, "auto", 0)
            opt = instantiate(cfg.optimizer)(model.parameters())
            lstm = nn.LSTM(128, 128, bidirectional=True)
            x = torch.randn(shape[1], shape[0], 128, requires_grad=True)
            ours, ours_wall = profiled_ms(model_step(model, opt, batch, bf16), args.steps)
            stock, stock_wall = profiled_ms(kernel_step(lstm, x, bf16), args.steps)
            name = "bf16" if bf16 else "fp32"
            print(f"\n## {kind} batch {shape} ({tokens} tokens), {name}, {args.threads} threads")
            print(f"{'group':<32} {'ours ms':>9} {'stock ms':>9}")
            for g in sorted(set(ours) | set(stock), key=lambda g: -ours.get(g, 0)):
                print(f"{g:<32} {ours.get(g, 0):9.2f} {stock.get(g, 0):9.2f}")
            print(f"{'profiled total':<32} {sum(ours.values()):9.2f} {sum(stock.values()):9.2f}")
            print(f"{'wall ms / step (unprofiled)':<32} {ours_wall:9.2f} {stock_wall:9.2f}")
            print(f"stock kernel / ours, wall: {stock_wall / ours_wall:.3f}")


if __name__ == "__main__":
    main()
