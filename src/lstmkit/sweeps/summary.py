"""One table for a multirun folder: every job, its overrides, scores and status, best first."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from lstmkit.atomic import atomic_path
from lstmkit.sweeps.naming import label, swept_keys

COLUMNS = [
    "job",
    "overrides",
    "status",
    "objective",
    "best_val",
    "test_metric",
    "test",
    "epochs",
    "wall_time_s",
    "error",
    "folder",
]
# the task's headline test numbers, shown whatever the objective (e.g. accuracy on a val/loss sweep)
HEADLINE = [
    "test/acc",
    "test/f1",
    "test/mae",
    "test/mape",
    "test/mase",
    "test/snaive_mape",  # the seasonal-naive forecast on the same test windows
]
OPTIONAL = ["worker"]  # a summary from a study: the sweep process (host:pid) that ran the job
MARKDOWN = set(COLUMNS) - {"folder"}  # the columns a reader compares, in table order


def job_folders(sweep_dir: Path) -> list[Path]:
    """Sub-folders Hydra made for jobs (they hold `.hydra/overrides.yaml`), in job order."""
    found = [p.parent.parent for p in sweep_dir.glob("*/.hydra/overrides.yaml")]
    return sorted(
        found, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name)
    )


def _config_value(job: Path, key: str) -> Any:
    path = job / ".hydra" / "config.yaml"
    if not path.is_file():
        return None
    try:
        return OmegaConf.select(OmegaConf.load(path), key, default=None)
    except Exception:  # an interpolation that only resolves inside Hydra
        return None


def job_row(job: Path, keys: set[str]) -> dict[str, Any]:
    """One job: read what train.py left (metrics.json), else call it `missing` (killed?)."""
    overrides = list(OmegaConf.load(job / ".hydra" / "overrides.yaml"))
    path = job / "metrics.json"
    report: dict[str, Any] = (
        json.loads(path.read_text()) if path.is_file() else {"status": "missing"}
    )
    objective = report.get("objective") or {}
    metric = objective.get("metric") or _config_value(job, "objective.metric") or ""
    metrics = report.get("metrics", {})
    test_metric = "test/" + metric.split("/", 1)[-1] if metric else ""
    status = report.get("status", "ok")
    error = report.get("error", "")
    if status == "missing":
        error = "no metrics.json: the job was killed or is still running"
    return {
        "job": job.name,
        "overrides": label(overrides, keys),
        "status": status,
        "objective": metric,
        "mode": objective.get("mode") or _config_value(job, "objective.mode") or "max",
        "best_val": objective.get("value", math.nan),
        "test_metric": test_metric,
        "test": metrics.get(test_metric, math.nan),
        "epochs": report.get("epochs"),
        "wall_time_s": report.get("wall_time_s"),
        "error": " ".join(error.split())[:240],
        "folder": str(job),
        **{name: metrics.get(name, math.nan) for name in HEADLINE},
        "all_overrides": " ".join(overrides),
        "hidden_size": _config_value(job, "model.hidden_size"),
        "lr": _config_value(job, "optimizer.lr"),
    }


def summarize(sweep_dir: str | Path) -> pd.DataFrame:
    """Rows sorted by the objective (best first, failed jobs last); `best` marks the winner."""
    sweep_dir = Path(sweep_dir)
    keys = swept_keys(sweep_dir)
    return ranked([job_row(job, keys) for job in job_folders(sweep_dir)])


def ranked(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The summary table of job rows (`job_row`'s keys): best first by the objective."""
    extra = ["mode", "all_overrides", "hidden_size", "lr"]
    extra += [c for c in OPTIONAL if any(c in row for row in rows)]
    after_test = COLUMNS.index("test") + 1  # headline numbers beside the objective's own
    columns = [*COLUMNS[:after_test], *HEADLINE, *COLUMNS[after_test:], *extra]
    table = pd.DataFrame(rows, columns=columns)
    # drop the other task's columns, and one the `test` column already shows
    shown = set(table["test_metric"]) if table["test_metric"].nunique() == 1 else set()
    table = table.drop(columns=[c for c in HEADLINE if table[c].isna().all() or c in shown])
    if table.empty:
        return table.assign(best=pd.Series(dtype=bool))
    ok = (table["status"] == "ok") & table["best_val"].notna()
    maximise = table["mode"].eq("max").mode().iat[0]
    sort_key = table["best_val"].where(ok).astype(float) * (-1 if maximise else 1)
    table = table.assign(_key=sort_key).sort_values("_key", na_position="last", kind="stable")
    table = table.drop(columns="_key").reset_index(drop=True)
    table["best"] = False
    if ok.any():
        table.loc[0, "best"] = True
    return table


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table of the columns a reader compares (no tabulate dependency)."""
    cols = ["best", *(c for c in table.columns if c in MARKDOWN or c in HEADLINE)]

    def cell(v: Any) -> str:
        if isinstance(v, bool):
            return "**best**" if v else ""
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.4g}"
        return "" if v is None else str(v).replace("|", "/")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in table.to_dict("records")]
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: Path) -> Path | None:
    """Objective against hidden size and against learning rate (one line per other value)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = table[(table["status"] == "ok") & table["best_val"].notna()]
    ok = ok.dropna(subset=["hidden_size", "lr"])
    if ok.empty:
        return None
    metric = ok["objective"].iat[0]
    sizes, rates = ok["hidden_size"].nunique(), ok["lr"].nunique()
    grid = len(ok) == sizes * rates and max(sizes, rates) <= 6  # a full small grid, not a search
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, x, by, xlabel in (
        (axes[0], "hidden_size", "lr", "model.hidden_size"),
        (axes[1], "lr", "hidden_size", "optimizer.lr"),
    ):
        if grid:  # one line per value of the other parameter
            for value, group in ok.groupby(by):
                group = group.sort_values(x)
                ax.plot(group[x].astype(float), group["best_val"], "o-", label=f"{by}={value:g}")
        else:  # a search: every trial a point, coloured by the other parameter
            dots = ax.scatter(
                ok[x].astype(float),
                ok["best_val"],
                c=ok[by].astype(float),
                cmap="viridis",
                norm=matplotlib.colors.LogNorm(),
            )
            fig.colorbar(dots, ax=ax, label=by)
        best = ok[ok["best"]]
        if not best.empty:
            ax.plot(
                best[x].astype(float),
                best["best_val"],
                "*",
                ms=16,
                color="gold",
                markeredgecolor="black",
                label="best",
            )
        ax.set_xscale("log", base=2 if x == "hidden_size" else 10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"best {metric}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{path.parent.name}: {len(ok)} finished jobs")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def write_summary(sweep_dir: str | Path) -> tuple[pd.DataFrame, str]:
    """Write summary.csv, summary.md and summary.png into the sweep folder; return table + text."""
    table = summarize(sweep_dir)
    return table, write_table(table, Path(sweep_dir))


def write_table(table: pd.DataFrame, folder: Path) -> str:
    """summary.csv, summary.md and summary.png of `table` in `folder`; returns the Markdown."""
    text = markdown(table)
    if not table.empty:
        best = table[table["best"]]
        text += "\n\nbest run: " + (best["folder"].iat[0] if not best.empty else "none finished")
        counts = table["status"].value_counts()
        text += f"\n{len(table)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    with atomic_path(folder / "summary.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(folder / "summary.md") as tmp:
        tmp.write_text(text + "\n")
    plot(table, folder / "summary.png")
    return text
