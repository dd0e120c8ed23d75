"""bf16-mixed against fp32 on BBC News: validation accuracy per epoch and test accuracy, per seed.

Usage: python -m benchmarks.precision [--seeds 5] [--epochs 8] [--threads 2]
Each run is the real pipeline (train.py's config) with only trainer.precision and seed varied,
so a difference comes from the precision. Prints a table and writes JSON to outputs/bench/.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.pipeline_run import run_pipeline
from lstmkit.atomic import write_json

PRECISIONS = ("32-true", "bf16-mixed")


def compare(seeds: int, epochs: int, threads: str, extra: list[str] | None = None) -> dict:
    """Every (seed, precision) run, interleaved so machine load hits both sides alike."""
    runs: dict[str, list[dict]] = {p: [] for p in PRECISIONS}
    for seed in range(seeds):
        for precision in PRECISIONS:
            with tempfile.TemporaryDirectory() as tmp:
                report, timings = run_pipeline(
                    [
                        "model=lstm",
                        f"trainer.precision={precision}",
                        f"trainer.max_epochs={epochs}",
                        "~callbacks.early_stopping",
                        "trainer.enable_progress_bar=false",
                        f"runtime.threads={threads}",
                        f"seed={seed}",
                        *(extra or []),
                    ],
                    Path(tmp) / "run",
                )
            runs[precision].append(
                {
                    "seed": seed,
                    "val_acc": [v.get("val/acc") for v in timings["val"]],
                    "test_acc": report["metrics"].get("test/acc"),
                    "epoch_s": timings["epoch_s"],
                }
            )
            print(precision, runs[precision][-1], flush=True)
    return runs


def table(runs: dict[str, list[dict]]) -> str:
    """Mean (min-max) validation accuracy per epoch and test accuracy, one column per precision."""
    epochs = len(runs[PRECISIONS[0]][0]["val_acc"])
    lines = [f"{'':<12}" + "".join(f"{p:>26}" for p in PRECISIONS)]

    def cell(values: list[float]) -> str:
        return f"{statistics.mean(values):.4f} ({min(values):.3f}-{max(values):.3f})"

    for e in range(epochs):
        cells = [cell([r["val_acc"][e] for r in runs[p]]) for p in PRECISIONS]
        lines.append(f"val ep {e + 1:<5}" + "".join(f"{c:>26}" for c in cells))
    cells = [cell([r["test_acc"] for r in runs[p]]) for p in PRECISIONS]
    lines.append(f"{'test acc':<12}" + "".join(f"{c:>26}" for c in cells))
    cells = [
        f"{statistics.median(s for r in runs[p] for s in r['epoch_s']):.2f}" for p in PRECISIONS
    ]
    lines.append(f"{'s/epoch med':<12}" + "".join(f"{c:>26}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", default="auto")
    parser.add_argument("--out", default="outputs/bench")
    parser.add_argument("overrides", nargs="*", help="more train.py overrides, e.g. data=...")
    args = parser.parse_args()
    runs = compare(args.seeds, args.epochs, args.threads, args.overrides)
    print(table(runs))
    out = Path(args.out) / f"precision-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(out, {"args": vars(args), "runs": runs})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
