"""The development suite: how the defaults do on data nobody tuned for (make suite).

    python scripts/suite.py                  # every case, 5 seeds (~30 min on 2 cores)
    python scripts/suite.py --quick          # 1 seed, two small cases (minutes)
    python scripts/suite.py --cases gunpoint,lynx --seeds 3 --override ensemble.size=3

Each case is trained with the generic CSV commands a user would type (`data=sequence_csv`,
`data=timeseries_csv`, `data=text_csv`) giving only columns, horizon and season. It writes
outputs/suite/<date>/suite.md and suite.csv: our validation and test scores, mean ± sd over the
seeds, beside classical baselines on the same splits. Every number comes from each run's
metrics.json. It is a measuring tool; choose defaults by its validation columns, never by test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from benchmarks.suite.baselines import sequence_baselines, text_baselines  # noqa: E402
from benchmarks.suite.cases import CASES, QUICK, Case  # noqa: E402
from benchmarks.suite.report import write_report  # noqa: E402
from lstmkit.atomic import write_json  # noqa: E402

# metric prefixes of the baselines the forecasting task scores on the run's own origins
FORECAST_BASELINES = (("naive_", "naive"), ("snaive_", "seasonal_naive"), ("ets_", "ets"))
QUIET = ("trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")


def train_once(case: Case, csv: Path, out: Path, seed: int, extra: list[str]) -> dict:
    """One `python train.py` run; its metrics.json (or the failure's last lines)."""
    run = out / "runs" / case.name / f"seed{seed}"
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        *case.overrides,
        f"data.path={csv}",
        f"seed={seed}",
        f"paths.output_dir={out}",
        f"hydra.run.dir={run}",
        *QUIET,
        *extra,
    ]
    if (run / "metrics.json").is_file():  # a finished run of an interrupted suite is kept
        report = json.loads((run / "metrics.json").read_text())
        return {
            "case": case.name,
            "seed": seed,
            "status": "ok",
            "seconds": report["wall_time_s"],
            **report,
        }
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or not (run / "metrics.json").is_file():
        print(f"  {case.name} seed {seed} FAILED:\n{(done.stdout + done.stderr)[-2000:]}")
        return {"case": case.name, "seed": seed, "status": "failed", "seconds": seconds}
    report = json.loads((run / "metrics.json").read_text())
    print(f"  {case.name} seed {seed}: {seconds:.0f}s", flush=True)
    return {"case": case.name, "seed": seed, "status": "ok", "seconds": seconds, **report}


def baselines(case: Case, csv: Path) -> dict[str, dict[str, float]]:
    """Baselines fitted here; forecasting's come with each run's metrics.json (rows_of)."""
    if case.kind == "text":
        return text_baselines(csv)
    if case.kind == "sequences":
        return sequence_baselines(csv)
    return {}


def rows_of(case: Case, runs: list[dict], base: dict[str, dict[str, float]]) -> list[dict]:
    """Long rows: case, who (ours / a baseline), seed, metric, value."""
    rows = []
    for run in runs:
        if run["status"] != "ok":
            continue
        metrics = dict(run["metrics"])
        if run.get("val_at_best"):  # val scores of the epoch the checkpoint keeps (an ensemble
            metrics = {k: v for k, v in metrics.items() if not k.startswith("val/")}  # has its own)
            metrics |= run["val_at_best"]
        for key, value in metrics.items():
            split, metric = key.split("/", 1)
            if split in ("val", "test") and value is not None:
                who = "ours"
                for prefix, name in FORECAST_BASELINES:
                    if metric.startswith(prefix):
                        who, metric = name, metric[len(prefix) :]
                rows.append(_row(case, who, run["seed"], f"{split}/{metric}", value))
        rows.append(_row(case, "ours", run["seed"], "seconds", run["seconds"]))
    for who, scores in base.items():
        rows += [_row(case, who, None, key, value) for key, value in scores.items()]
    return rows


def _row(case: Case, who: str, seed: int | None, metric: str, value: float) -> dict:
    return {
        "case": case.name,
        "kind": case.kind,
        "who": who,
        "seed": seed,
        "metric": metric,
        "value": value,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"1 seed, cases {', '.join(QUICK)}")
    parser.add_argument("--cases", help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--seeds", type=int, help="seeds per case (default 5; --quick 1)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each uses 1 thread)")
    parser.add_argument(
        "--out",
        type=Path,
        help="default outputs/suite/<UTC date-time>; runs already there are kept",
    )
    parser.add_argument("--override", action="append", default=[], help="passed to every run")
    args = parser.parse_args()
    names = args.cases.split(",") if args.cases else list(QUICK if args.quick else CASES)
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {', '.join(CASES)}")
    seeds = args.seeds or (1 if args.quick else 5)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d_%H-%M-%S")
    out = (args.out or ROOT / "outputs" / "suite" / stamp).resolve()
    (out / "data").mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for name in names:
        case = CASES[name]
        csv = out / "data" / f"{name}.csv"
        if not csv.is_file():
            case.write(csv)
        print(f"{name}: {seeds} seed(s)", flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            jobs = [pool.submit(train_once, case, csv, out, s, args.override) for s in range(seeds)]
            runs = [job.result() for job in jobs]
        rows += rows_of(case, runs, baselines(case, csv))
        pd.DataFrame(rows).to_csv(out / "suite.csv", index=False)  # partial results survive
    table = write_report(pd.DataFrame(rows), out, {"seeds": seeds, "overrides": args.override})
    write_json(out / "suite.json", {"seeds": seeds, "cases": names, "overrides": args.override})
    print(table)
    print(f"\nwritten: {out / 'suite.md'} and {out / 'suite.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
