"""Minimal hand-written training loops over encoded tensors: the yardstick for the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lstmkit.data.batches import RaggedDataset
from lstmkit.data.sampler import BucketBatchSampler


def bucketed_batches(
    data: RaggedDataset, batch_size: int, seed: int, epoch: int = 0
) -> Iterator[dict]:
    """Length-bucketed batches, padded to each batch's own maximum (built lazily, as a loader)."""
    sampler = BucketBatchSampler(data.inputs.lengths, batch_size, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return (data.__getitems__(b) for b in sampler)


def padded_to_max_batches(
    data: RaggedDataset, batch_size: int, max_length: int, seed: int
) -> Iterator[dict]:
    """What a naive loop does: random batches, every one padded to the maximum length."""
    order = np.random.default_rng(seed).permutation(len(data))
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        padded, mask = data.inputs.pad(idx, max_length=max_length)
        yield {
            "inputs": torch.from_numpy(padded),
            "lengths": torch.from_numpy(mask.sum(1).astype(np.int64)),
            "targets": torch.from_numpy(data.targets[idx]),
        }


def train_epoch(
    model: nn.Module,
    batches: Iterable[dict],
    lr: float = 3e-3,
    clip: float = 1.0,
    optimizer: torch.optim.Optimizer | None = None,
    bf16: bool = False,
) -> int:
    """One epoch of forward, cross-entropy, backward, clip, Adam step; returns non-pad tokens.

    Runs on the model's device; `bf16` wraps forward and loss in bfloat16 autocast.
    """
    model.train()
    device = next(model.parameters()).device
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    tokens = 0
    for batch in batches:
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(batch["inputs"], batch["lengths"])
            loss = F.cross_entropy(logits.float(), batch["targets"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        tokens += int(batch["lengths"].sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return tokens
