"""A run's final numbers beside simple baselines, and where its figures are."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from lstmkit.runview.history import accumulator, event_files

FORECAST = ["mae", "rmse", "mape", "smape", "mase"]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def forecast_table(metrics: dict[str, float]) -> pd.DataFrame:
    """Test errors of the model, the naive and the seasonal-naive forecast (same windows)."""
    rows = {
        label: {m: metrics.get(f"{prefix}{m}") for m in FORECAST}
        for label, prefix in (
            ("model", "test/"),
            ("naive", "test/naive_"),
            ("seasonal naive", "test/snaive_"),
        )
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def classification_table(metrics: dict[str, float], per_class: dict) -> pd.DataFrame:
    """Test accuracy and macro-F1 of the model and of always answering the most frequent
    test class (the score a model must beat to have learned anything)."""
    rows = {"model": {"acc": metrics.get("test/acc"), "f1": metrics.get("test/f1")}}
    support = [c["support"] for c in per_class.get("classes", {}).values()]
    if support and sum(support):
        share = max(support) / sum(support)
        rows["most frequent class"] = {"acc": share, "f1": 2 * share / (share + 1) / len(support)}
    return pd.DataFrame.from_dict(rows, orient="index")


def final_tables(run_dir: str | Path) -> list[tuple[str, pd.DataFrame]]:
    """Titled tables: test vs baselines, then the other final metrics (val, test loss)."""
    run_dir = Path(run_dir)
    metrics = read_json(run_dir / "metrics.json").get("metrics", {})
    tables, shown = [], set()
    if "test/snaive_mae" in metrics:
        tables.append(("test, model vs baselines", forecast_table(metrics)))
        shown = {f"test/{p}{m}" for p in ("", "naive_", "snaive_") for m in FORECAST}
    elif "test/acc" in metrics:
        per_class = read_json(run_dir / "test_per_class.json")
        tables.append(("test, model vs baseline", classification_table(metrics, per_class)))
        shown = {"test/acc", "test/f1"}
    rest = {k: v for k, v in metrics.items() if k not in shown}
    if rest:
        tables.append(
            ("other final metrics", pd.Series(rest, name="value").sort_index().to_frame())
        )
    return tables


def figures(run_dir: str | Path) -> list[str]:
    """PNG files in the run folder, and `<event file> : <tag>` for figures kept in TensorBoard."""
    run_dir = Path(run_dir)
    found = [str(p) for p in sorted(run_dir.rglob("*.png"))]
    for path in event_files(run_dir):
        found += [f"{path} : {tag}" for tag in accumulator(path, images=1).Tags().get("images", [])]
    for projector in sorted((run_dir / "tensorboard").rglob("projector_config.pbtxt")):
        found.append(f"{projector} : embedding projector (tensorboard --logdir {run_dir})")
    return found
