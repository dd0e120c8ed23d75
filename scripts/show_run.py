"""Look at one run: python scripts/show_run.py <run dir>   (or: make show RUN=<run dir>)

Prints the run's config diff against the defaults, its epoch table, its final metrics beside
the baselines, and the paths of its figures. It reads the run folder alone, as data (nothing in
it is instantiated or unpickled), so it works on a copied or moved run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from lstmkit.runview.config_diff import config_diff
from lstmkit.runview.history import epoch_table
from lstmkit.runview.results import figures, final_tables, read_json

ROOT = Path(__file__).resolve().parents[1]


def section(title: str) -> None:
    print(f"\n== {title} ==")


def show_config(run: Path) -> None:
    section("config: changed from the defaults (default -> this run)")
    overrides = list(OmegaConf.load(run / ".hydra" / "overrides.yaml"))
    print("command line: " + (" ".join(overrides) or "(no overrides)"))
    try:
        diff = config_diff(run, ROOT / "conf")
    except Exception as e:  # e.g. a config group this checkout no longer has
        print(f"(could not compose the defaults for this run's choices: {e})")
        return
    for key, default, value in diff:
        print(f"  {key}: {default} -> {value}")
    if not diff:
        print("  (the defaults, unchanged)")


def show_table(table: pd.DataFrame, **kwargs: object) -> None:
    print(table.to_string(float_format=lambda v: f"{v:.4g}", na_rep="", **kwargs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (outputs/runs/<name>/<time>)")
    run = parser.parse_args(argv).run
    if not (run / ".hydra" / "config.yaml").is_file():
        print(f"error: {run} is not a run folder (no .hydra/config.yaml)", file=sys.stderr)
        return 2
    report = read_json(run / "metrics.json")
    objective = report.get("objective", {})
    print(f"run {run}: {report.get('status', 'no metrics.json (still running or killed)')}")
    if objective:
        print(f"objective: best {objective.get('metric')} = {objective.get('value'):.4g}")
    if report.get("error"):
        print(f"error: {report['error']}")
    show_config(run)
    section("epochs")
    epochs = epoch_table(run)
    show_table(epochs, index=False) if len(epochs) else print("(no epoch logged)")
    for title, table in final_tables(run):
        section(title)
        show_table(table)
    section("figures")
    print("\n".join(figures(run)) or "(none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
