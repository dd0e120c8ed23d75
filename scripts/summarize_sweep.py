"""Summarise a sweep: python scripts/summarize_sweep.py outputs/multirun/<timestamp>

Writes summary.csv, summary.md and summary.png into the folder and prints the Markdown table
(every job: overrides, best val metric, its test counterpart, the task's headline test metrics,
epochs, wall time, status; best first). For an Optuna sweep the rows come from its study, and
Optuna's views (optuna_history/importances/parallel/slice.png) are written too.

From a study alone (jobs of several sweep processes, in different folders or machines):
    python scripts/summarize_sweep.py --study journal:/shared/lstmkit.journal [OUT_FOLDER]
OUT_FOLDER defaults to the folder of the study's file. Exits 1 when no job finished.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lstmkit.errors import ConfigError
from lstmkit.sweeps.optuna_views import write_sweep_views, write_views
from lstmkit.sweeps.storage import load_study, storage_url, study_file, study_names
from lstmkit.sweeps.study_summary import summarize_study, write_sweep_summary
from lstmkit.sweeps.summary import write_table


def from_study(url: str, name: str, folder: Path | None) -> tuple[bool, str, list[Path]]:
    """Summary and views of a study written to `folder`; (anything finished, text, views)."""
    url = storage_url(url, ".")
    file = study_file(url)
    if file is not None and not file.is_file():
        raise ConfigError(f"--study {url}: no such study file {file}")
    try:
        study = load_study(url, name)
    except KeyError:
        names = ", ".join(study_names(url)) or "none"
        raise ConfigError(
            f"--study {url} holds no study named {name!r}; its studies: {names} (--study-name)"
        ) from None
    out = folder or (file.parent if file is not None else Path.cwd())
    table = summarize_study(study)
    text = write_table(table, out)
    return bool(table["status"].eq("ok").any()), text, write_views(study, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder", type=Path, nargs="?", help="a sweep folder (outputs/multirun/<timestamp>)"
    )
    parser.add_argument("--study", help="an Optuna storage: sqlite:///x.db, journal:x.journal")
    parser.add_argument("--study-name", default="lstmkit", help="hydra.sweeper.study_name")
    args = parser.parse_args(argv)
    if args.study:
        try:
            finished, text, views = from_study(args.study, args.study_name, args.folder)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    elif args.folder is None:
        parser.error("give a sweep folder, or --study <storage>")
    elif not (args.folder / "multirun.yaml").is_file() and not list(args.folder.glob("*/.hydra")):
        print(
            f"error: {args.folder} is not a multirun folder (no multirun.yaml, no job folders)",
            file=sys.stderr,
        )
        return 2
    else:
        table, text = write_sweep_summary(args.folder)
        finished, views = bool(table["status"].eq("ok").any()), write_sweep_views(args.folder)
    print(text)
    for view in views:
        print(f"wrote {view}")
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
