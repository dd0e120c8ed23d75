"""Run a network over ragged inputs in length-sorted batches, results back in input order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from lstmkit.data.ragged import Ragged


@torch.inference_mode()
def run_sorted(net: nn.Module, inputs: Ragged, batch_size: int = 256) -> np.ndarray:
    """Outputs of `net(padded, lengths)` for every example; sorting by length keeps pads few."""
    order = np.argsort(inputs.lengths, kind="stable")
    outputs: list[np.ndarray] = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        padded, mask = inputs.pad(idx)
        lengths = torch.from_numpy(mask.sum(1).astype(np.int64))
        outputs.append(net(torch.from_numpy(np.ascontiguousarray(padded)), lengths).numpy())
    if not outputs:
        return np.zeros((0,))
    result = np.empty((len(order), *outputs[0].shape[1:]), dtype=outputs[0].dtype)
    result[order] = np.concatenate(outputs)
    return result


def probabilities(net: nn.Module, inputs: Ragged, batch_size: int = 256) -> np.ndarray:
    """Class probabilities [N, C] from a classifier's logits."""
    logits = run_sorted(net, inputs, batch_size)
    if logits.ndim < 2:
        return logits
    return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()


def add_class_columns(
    out: pd.DataFrame, rows: np.ndarray, probs: np.ndarray, labels: list[str]
) -> None:
    """Insert `predicted` (third column) and `prob_<class>` columns; rows not in `rows` stay empty.

    Every input row keeps its place in the output, predicted or not.
    """
    predicted = np.full(len(out), None, dtype=object)
    table = np.full((len(out), len(labels)), np.nan)
    if len(probs):
        predicted[rows] = np.asarray(labels, dtype=object)[probs.argmax(1)]
        table[rows] = probs
    out.insert(2, "predicted", predicted)
    for j, name in enumerate(labels):
        out[f"prob_{name}"] = table[:, j]
