"""Many series, one model: time per epoch and peak memory on a generated monthly panel.

    python scripts/forecast_panel.py --series 1000 10000 --out outputs/forecast_panel

No installed package ships a public multi-series panel in long format, so the panel is
generated with known structure: series i has length 60-180 months, a level drawn from a
log-normal (levels span ~3 orders of magnitude, so per-series scaling matters), a trend of
-0.5..1 % of the level a month, a 12-month season of 5-25 % of the level with a random
phase, and 3 % Gaussian noise. Each size trains through `python train.py` (a child process)
with per-series scaling and series-balanced sampling: an epoch draws 8 windows per series;
val and test are one origin per series. Peak memory is the child's VmHWM (/proc status).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def panel(series: int, seed: int = 0) -> pd.DataFrame:
    """The long-format panel described above: columns id, month, value."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(60, 181, series)
    frames = []
    for i, n in enumerate(lengths):
        t = np.arange(n)
        level = rng.lognormal(5, 1.2)
        trend = rng.uniform(-0.005, 0.01) * level
        season = rng.uniform(0.05, 0.25) * level * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6.3))
        noise = rng.normal(0, 0.03 * level, n)
        start = pd.Timestamp("2000-01-01") + pd.DateOffset(months=int(180 - n))
        months = pd.date_range(start, periods=n, freq="MS").strftime("%Y-%m")
        values = level + trend * t + season + noise
        frames.append(pd.DataFrame({"id": f"s{i:05d}", "month": months, "value": values}))
    return pd.concat(frames, ignore_index=True)


def peak_kib(pid: int) -> int:
    """VmHWM of a running process, in KiB (0 once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) if match else 0


def measure(series: int, out: Path, epochs: int) -> dict:
    csv = out / f"panel_{series}.csv"
    panel(series).to_csv(csv, index=False)
    run = out / f"run_{series}"
    overrides = [
        "data=timeseries_csv",
        "model=seq2seq",
        f"data.path={csv}",
        "data.time_column=month",
        "data.series_column=id",
        "data.backtest.windows=1",
        "data.backtest.ets=false",
        "data.balance_series=true",
        f"data.windows_per_epoch={8 * series}",
        "data.batch_size=256",
        f"trainer.max_epochs={epochs}",
        "trainer.enable_progress_bar=false",
        "callbacks.early_stopping=null",
        f"paths.output_dir={out}",
        f"hydra.run.dir={run}",
    ]
    started, peak = time.perf_counter(), 0
    child = subprocess.Popen(
        [sys.executable, "train.py", *overrides],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    while child.poll() is None:
        peak = max(peak, peak_kib(child.pid))
        time.sleep(0.2)
    if child.returncode != 0:
        raise SystemExit(child.stderr.read()[-3000:])
    log = (run / "train.log").read_text()
    epochs_s = [float(s) for s in re.findall(r"epoch \d+ \(([\d.]+)s\)", log)]
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    return {
        "series": series,
        "rows": int(sum(1 for _ in open(csv)) - 1),
        "epoch_s": epochs_s,
        "peak_mib": round(peak / 1024),
        "total_s": round(time.perf_counter() - started, 1),
        "test_mase": round(metrics["test/mase"], 3),
        "test_snaive_mase": round(metrics["test/snaive_mase"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "forecast_panel")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for n in args.series:
        print(json.dumps(measure(n, args.out, args.epochs)), flush=True)


if __name__ == "__main__":
    main()
