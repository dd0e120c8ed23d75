"""Small, dependency-free text tables for the console and the log."""

from __future__ import annotations

from collections.abc import Mapping


def metrics_table(metrics: Mapping[str, float]) -> str:
    """Rows `split | metric | value`, test first, so the number that matters is on top."""
    order = {"test": 0, "val": 1, "train": 2}
    rows = sorted(metrics.items(), key=lambda kv: (order.get(kv[0].split("/")[0], 3), kv[0]))
    width = max((len(k) for k in metrics), default=6)
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  ------"]
    lines += [f"{k:<{width}}  {v:.4f}" for k, v in rows]
    return "\n".join(lines)
