"""The suite's table: per case, our val and test scores (mean ± sd) beside the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from lstmkit.atomic import atomic_path

HEADLINE = {"text": "acc", "sequences": "acc", "forecast": "mae"}
BASELINES = {
    "text": ("majority", "tfidf_svm"),
    "sequences": ("majority", "1nn_euclid", "1nn_dtw"),
    "forecast": ("naive", "seasonal_naive", "ets"),
}


def spread(values: pd.Series) -> str:
    """mean ± sd (sd over seeds; a lone value or a deterministic baseline shows no sd)."""
    values = values.dropna()
    if values.empty:
        return "-"
    if len(values) == 1 or values.std() == 0:
        return f"{values.mean():.4g}"
    return f"{values.mean():.4g} ± {values.std():.2g}"


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per case and headline metric (accuracy or MAE, then MAPE for forecasts)."""
    lines = []
    for (case, kind), group in rows.groupby(["case", "kind"], sort=False):
        metrics = [HEADLINE[kind]] + (["mape"] if kind == "forecast" else [])
        for metric in metrics:
            line: dict[str, Any] = {"case": case, "metric": metric}
            ours = group[group["who"] == "ours"]
            line["ours val"] = spread(ours[ours["metric"] == f"val/{metric}"]["value"])
            line["ours test"] = spread(ours[ours["metric"] == f"test/{metric}"]["value"])
            for who in BASELINES[kind]:
                mine = group[(group["who"] == who) & (group["metric"] == f"test/{metric}")]
                line[f"{who} test"] = spread(mine["value"])
            line["s/run"] = spread(ours[ours["metric"] == "seconds"]["value"])
            line["seeds"] = ours["seed"].nunique()
            lines.append(line)
    table = pd.DataFrame(lines).fillna("-")
    last = ["s/run", "seeds"]
    return table[[c for c in table.columns if c not in last] + last]


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs an extra package)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def write_report(rows: pd.DataFrame, out: Path, settings: dict[str, Any]) -> str:
    """suite.md (the table per kind) and suite.csv (every number, long format)."""
    with atomic_path(out / "suite.csv") as tmp:
        rows.to_csv(tmp, index=False)
    table = summary(rows)
    parts = [
        f"# Suite: {settings['seeds']} seed(s), overrides {settings['overrides'] or 'none'}",
        "Accuracy: higher is better; MAE / MAPE: lower. Baselines on the same test split.",
    ]
    for kind in ("text", "sequences", "forecast"):
        cases = rows[rows["kind"] == kind]["case"].unique()
        part = table[table["case"].isin(cases)].dropna(axis=1, how="all")
        part = part.loc[:, (part != "-").any()]
        if len(part):
            parts.append(f"## {kind}\n\n{markdown(part)}")
    text = "\n\n".join(parts) + "\n"
    with atomic_path(out / "suite.md") as tmp:
        tmp.write_text(text)
    return text
