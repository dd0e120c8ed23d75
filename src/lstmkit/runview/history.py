"""A run's epoch table: `epochs.csv` (written by the epoch-summary callback) or TensorBoard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def event_files(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "tensorboard").rglob("events.out.tfevents.*"))


def accumulator(path: Path, **guidance: int) -> Any:
    """A loaded EventAccumulator for one event file (reads scalars and images, no TensorFlow)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, **guidance})
    acc.Reload()
    return acc


def from_tensorboard(run_dir: Path) -> pd.DataFrame:
    """Epoch-level scalars, each placed at the epoch Lightning logged at the same step."""
    rows: dict[int, dict[str, float]] = {}
    for path in event_files(run_dir):
        acc = accumulator(path)
        tags = acc.Tags().get("scalars", [])
        if "epoch" not in tags:
            continue
        epoch_at = {e.step: int(e.value) for e in acc.Scalars("epoch")}
        for tag in tags:
            if tag == "epoch" or tag.endswith("_step") or tag.startswith(("test", "hp")):
                continue
            for event in acc.Scalars(tag):
                if event.step in epoch_at:
                    row = rows.setdefault(epoch_at[event.step], {})
                    row[tag.removesuffix("_epoch")] = event.value
    table = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    return table.rename_axis("epoch").reset_index()


def epoch_table(run_dir: str | Path) -> pd.DataFrame:
    """One row per epoch; empty when the run logged none."""
    run_dir = Path(run_dir)
    path = run_dir / "epochs.csv"
    return pd.read_csv(path) if path.is_file() else from_tensorboard(run_dir)
