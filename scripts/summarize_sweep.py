"""Summarise a multirun folder: python scripts/summarize_sweep.py outputs/multirun/<timestamp>

Writes summary.csv, summary.md and summary.png into the folder and prints the Markdown table
(every job: overrides, best val metric, its test counterpart, the task's headline test metrics,
epochs, wall time, status; best first). For an Optuna sweep it also writes Optuna's views
(optuna_history/importances/parallel/slice.png). Exits 1 when no job finished.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lstmkit.sweeps.optuna_views import write_sweep_views
from lstmkit.sweeps.summary import write_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a sweep folder (outputs/multirun/<timestamp>)")
    args = parser.parse_args(argv)
    if not (args.folder / "multirun.yaml").is_file() and not list(args.folder.glob("*/.hydra")):
        print(
            f"error: {args.folder} is not a multirun folder (no multirun.yaml, no job folders)",
            file=sys.stderr,
        )
        return 2
    table, text = write_summary(args.folder)
    print(text)
    for view in write_sweep_views(args.folder):
        print(f"wrote {view}")
    return 0 if table["status"].eq("ok").any() else 1


if __name__ == "__main__":
    sys.exit(main())
