"""Does refitting on train + validation help? A nested check that never reads the test split.

    python scripts/refit_nested.py --cases airline,sunspots --seeds 3 --jobs 2 --out DIR

The whole protocol is shifted back by the validation span (`data.backtest.drop_last`): the
shifted run chooses its epoch count, season and alpha on val' and is scored on a pseudo-test
that is today's validation span. The refit then trains from scratch on train' + val' (which is
today's training span) for that many epochs of as many steps (the same step budget), without
early stopping, and is scored with its last weights on the same pseudo-test (today's validation
origins, read as `val/mae` of the last epoch; nothing is chosen on them). A shifted run that
kept its anchor refits to the same anchor. Writes DIR/nested.csv and prints a table; nothing
reads today's test span.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import pandas as pd  # noqa: E402
from suite import train_once  # noqa: E402

from benchmarks.suite.cases import CASES  # noqa: E402

METRICS = ("mae", "mape")


def val_span(case_spec: dict) -> int:
    """Today's validation span of the default backtest (3 origins, one horizon apart)."""
    return 3 * int(case_spec["horizon"])


def shifted(case, csv: Path, out: Path, seed: int, overrides: list[str]) -> dict:
    """The shifted run: its pseudo-test scores and the choices it made on val'."""
    extra = [f"+data.backtest.drop_last={val_span(case.forecast)}", *overrides]
    report = train_once(case, csv, out / "shifted", seed, extra)
    run = out / "shifted" / "runs" / case.name / f"seed{seed}"
    params = json.loads((run / "model.json").read_text())["params"]
    return {
        "report": report,
        "epochs": int(report["objective"]["epoch"]) + 1,
        "steps_per_epoch": int(report["budget"]["steps_per_epoch"]),
        "kept": (report.get("anchor") or {}).get("kept"),
        "alpha": params.get("anchor_alpha", 1.0),
        "season": params.get("season"),
    }


def refit(
    case, csv: Path, out: Path, seed: int, first: dict, overrides: list[str]
) -> dict[str, float]:
    """Today's training span for the shifted run's epochs; its last weights on today's val."""
    base = first["report"]["metrics"]
    no_refit = {m: base[f"test/{m}"] for m in METRICS}
    if first["kept"] == "anchor" or overrides is None:
        return {
            **{f"no_refit_{m}": v for m, v in no_refit.items()},
            **{f"refit_{m}": v for m, v in no_refit.items()},
        }
    extra = [
        f"trainer.max_epochs={first['epochs']}",
        f"data.windows_per_epoch={first['steps_per_epoch'] * 32}",  # the same steps per epoch
        "~callbacks.early_stopping",
        f"data.anchor_alpha={first['alpha']}",
        "test_after_fit=false",
        *overrides,
    ]
    report = train_once(case, csv, out / "refit", seed, extra)
    last = report["metrics"]
    return {
        **{f"no_refit_{m}": v for m, v in no_refit.items()},
        **{f"refit_{m}": last[f"val/{m}"] for m in METRICS},
    }


def one(case, csv: Path, out: Path, seed: int, overrides: list[str], again: bool) -> dict:
    first = shifted(case, csv, out, seed, overrides)
    row = refit(case, csv, out, seed, first, overrides if again else None)
    return {
        "case": case.name,
        "seed": seed,
        "epochs": first["epochs"],
        "kept": first["kept"],
        "alpha": first["alpha"],
        "season": first["season"],
        **row,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="airline,sunspots,lynx,shampoo,nile")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--override", action="append", default=[], help="passed to every run")
    parser.add_argument("--no-refit", action="store_true", help="the shifted runs only")
    args = parser.parse_args()
    out = args.out.resolve()
    (out / "data").mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.cases.split(","):
        case = CASES[name]
        csv = out / "data" / f"{name}.csv"
        if not csv.is_file():
            case.write(csv)
        with ThreadPoolExecutor(args.jobs) as pool:
            again = not args.no_refit
            jobs = [
                pool.submit(one, case, csv, out, s, args.override, again) for s in range(args.seeds)
            ]
            rows += [job.result() for job in jobs]
        pd.DataFrame(rows).to_csv(out / "nested.csv", index=False)
    frame = pd.DataFrame(rows)
    summary = frame.groupby("case", sort=False)[
        ["no_refit_mae", "refit_mae", "no_refit_mape", "refit_mape"]
    ].agg(["mean", "std"])
    print(frame.to_string())
    print(summary.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
