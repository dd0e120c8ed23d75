"""What the quantile head and `ensemble.size=3` change on airline and sunspots (backtests).

    python scripts/forecast_heads.py --out outputs/forecast_heads [--seeds 0 1 2] [--epochs 10]

Each set runs four ways through `python train.py`, as a user would: a point forecast, the
quantile head (`model.quantiles=[0.1,0.5,0.9]`, conformal widening), and each of them as an
ensemble of 3 seeds. Prints one markdown table of backtest MAE, MAPE, 80 % coverage and width
(mean and spread over seeds).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HEADS = {
    "point": [],
    "quantiles": ["model.quantiles=[0.1,0.5,0.9]"],
    "point, ensemble 3": ["ensemble.size=3"],
    "quantiles, ensemble 3": ["model.quantiles=[0.1,0.5,0.9]", "ensemble.size=3"],
}
COLUMNS = ("mae", "mape", "ets_mae", "coverage_80", "width_80")


def train(name: str, head: str, seed: int, out: Path, epochs: int) -> dict[str, float]:
    """One run; its test metrics (empty if it failed)."""
    tag = f"{name}-{head.replace(', ', '-').replace(' ', '')}-{seed}"
    overrides = [
        f"experiment={name}",
        *HEADS[head],
        f"seed={seed}",
        f"trainer.max_epochs={epochs}",
        f"paths.output_dir={out}",
        f"paths.data_dir={out / 'data'}",
        f"hydra.run.dir={out}/{tag}",
        "trainer.enable_progress_bar=false",
    ]
    done = subprocess.run(
        [sys.executable, "train.py", *overrides], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"{tag} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return {}
    return json.loads((out / tag / "metrics.json").read_text())["metrics"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "forecast_heads")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--sets", nargs="+", default=["airline", "sunspots"])
    parser.add_argument("--heads", nargs="+", default=list(HEADS), choices=list(HEADS))
    args = parser.parse_args()
    rows = []
    for name in args.sets:
        for head in args.heads:
            runs = [train(name, head, s, args.out, args.epochs) for s in args.seeds]
            row: dict[str, object] = {"set": name, "head": head, "runs": sum(map(bool, runs))}
            for c in COLUMNS:
                values = [r[f"test/{c}"] for r in runs if f"test/{c}" in r]
                row[c] = f"{np.mean(values):.3g} ± {np.std(values):.2g}" if values else ""
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    (args.out / "summary.json").write_text(table.to_json(orient="records", indent=2))
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    print("\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in table.values]))


if __name__ == "__main__":
    main()
