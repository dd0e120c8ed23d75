"""Backtest the seq2seq LSTM on the five small forecasting sets, beside ETS and seasonal naive.

    python scripts/forecast_suite.py --out outputs/forecast_suite [--seeds 0 1] [--epochs 10]

Every set ships in an installed package (sktime: airline, lynx, shampoo; statsmodels: Nile,
sunspots); nothing is downloaded. Each set runs twice, as a point forecast and with
`model.quantiles=[0.1,0.5,0.9]`, through `python train.py` as a user would, and the script
prints one markdown table of the backtest metrics that `metrics.json` holds.
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
QUANTILES = "model.quantiles=[0.1,0.5,0.9]"
# name -> (overrides); the backtest spans 3 origins one horizon apart
SETS: dict[str, list[str]] = {
    "airline": ["experiment=airline"],
    "sunspots": ["experiment=sunspots"],
    "lynx": [
        "data.time_column=year",
        "data.value_columns=[lynx]",
        "data.input_length=20",
        "data.horizon=10",
        "data.season=10",
        "data.log_transform=true",
    ],
    "shampoo": [
        "data.time_column=month",
        "data.value_columns=[sales]",
        "data.input_length=6",
        "data.horizon=3",
    ],
    "nile": [
        "data.time_column=year",
        "data.value_columns=[volume]",
        "data.input_length=20",
        "data.horizon=10",
    ],
}
COLUMNS = ["mape", "ets_mape", "snaive_mape", "mase", "ets_mase", "coverage_80", "width_80"]


def write_csvs(folder: Path) -> None:
    """lynx, shampoo and Nile as CSV files (airline and sunspots are built-ins)."""
    import statsmodels.api as sm
    from sktime.datasets import load_lynx, load_shampoo_sales

    folder.mkdir(parents=True, exist_ok=True)
    lynx = load_lynx()
    pd.DataFrame({"year": lynx.index.year, "lynx": lynx.to_numpy()}).to_csv(
        folder / "lynx.csv", index=False
    )
    shampoo = load_shampoo_sales()
    pd.DataFrame(
        {"month": shampoo.index.to_timestamp().strftime("%Y-%m"), "sales": shampoo.to_numpy()}
    ).to_csv(folder / "shampoo.csv", index=False)
    nile = sm.datasets.nile.load_pandas().data.astype({"year": int})
    nile.to_csv(folder / "nile.csv", index=False)


def run(name: str, out: Path, data: Path, seed: int, epochs: int, extra: list[str]) -> dict:
    """One `python train.py` run; its metrics (an empty dict if it failed)."""
    tag = f"{name}-{'q' if extra else 'p'}-{seed}"
    overrides = list(SETS[name])
    if not overrides[0].startswith("experiment="):
        overrides = ["data=timeseries_csv", "model=seq2seq", f"data.path={data / name}.csv"]
        overrides += SETS[name]
    overrides += [
        *extra,
        f"seed={seed}",
        f"trainer.max_epochs={epochs}",
        f"paths.output_dir={out}",
        f"paths.data_dir={data}",
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


def markdown(table: pd.DataFrame) -> str:
    """A markdown table, numbers to 3 significant digits."""
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in table.values]
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "forecast_suite")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    args = parser.parse_args()
    data = args.out / "data"
    write_csvs(data)
    rows = []
    for name in args.sets:
        for label, extra in (("point", []), ("quantiles", [QUANTILES])):
            runs = [run(name, args.out, data, s, args.epochs, extra) for s in args.seeds]
            runs = [r for r in runs if r]
            row = {"set": name, "head": label, "runs": len(runs)}
            for c in COLUMNS:
                values = [r[f"test/{c}"] for r in runs if f"test/{c}" in r]
                row[c] = float(np.mean(values)) if values else float("nan")
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    (args.out / "summary.json").write_text(table.to_json(orient="records", indent=2))
    print(markdown(table))


if __name__ == "__main__":
    main()
