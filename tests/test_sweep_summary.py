"""The sweep summary on hand-written job folders, and a real sweep where every job fails."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
from helpers import ROOT, run_train, tiny_run_overrides

from lstmkit.sweeps.summary import markdown, summarize


def write_job(sweep, num: int, overrides: list[str], report: dict) -> None:
    hydra = sweep / str(num) / ".hydra"
    hydra.mkdir(parents=True)
    (hydra / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (sweep / str(num) / "metrics.json").write_text(json.dumps(report))


def job_report(val_loss: float, metrics: dict[str, float]) -> dict:
    return {
        "status": "ok",
        "objective": {"metric": "val/loss", "mode": "min", "value": val_loss},
        "metrics": {"val/loss": val_loss, **metrics},
        "epochs": 3,
        "wall_time_s": 1.5,
    }


def test_summary_shows_headline_test_metrics_beside_a_loss_objective(tmp_path):
    sweep = tmp_path / "sweep"
    # job 1 has the lower val loss but the worse test accuracy: the objective still picks it
    write_job(
        sweep,
        0,
        ["optimizer.lr=0.01"],
        job_report(0.9, {"test/loss": 0.8, "test/acc": 0.9, "test/f1": 0.88}),
    )
    write_job(
        sweep,
        1,
        ["optimizer.lr=0.001"],
        job_report(0.5, {"test/loss": 0.6, "test/acc": 0.7, "test/f1": 0.65}),
    )
    table = summarize(sweep)
    assert list(table["job"]) == ["1", "0"] and table.loc[0, "best"]
    assert table.loc[0, "test_metric"] == "test/loss" and table.loc[0, "test"] == 0.6
    assert table.loc[0, "test/acc"] == 0.7 and table.loc[1, "test/f1"] == 0.88
    assert "test/mape" not in table.columns  # a classification sweep shows no forecast columns
    header = markdown(table).splitlines()[0]
    for column in ("test/loss", "test/acc", "test/f1", "epochs", "wall_time_s"):
        assert column in markdown(table)
    assert header.index("test |") < header.index("test/acc") < header.index("epochs")


def test_summary_shows_forecast_errors_and_the_seasonal_naive_figure(tmp_path):
    sweep = tmp_path / "sweep"
    forecast = {"test/mae": 12.0, "test/mape": 3.1, "test/mase": 0.9, "test/snaive_mape": 4.2}
    write_job(sweep, 0, ["model.hidden_size=32"], job_report(0.2, forecast))
    write_job(sweep, 1, ["model.hidden_size=64"], {"status": "failed", "error": "boom"})
    table = summarize(sweep).set_index("job")
    assert table.loc["0", "test/snaive_mape"] == 4.2 and table.loc["0", "test/mase"] == 0.9
    assert pd.isna(table.loc["1", "test/mae"]) and "test/acc" not in table.columns

    # a sweep on val/mape: its test counterpart is the `test` column, not shown twice
    for job in sweep.iterdir():
        report = json.loads((job / "metrics.json").read_text())
        report.setdefault("objective", {})["metric"] = "val/mape"
        (job / "metrics.json").write_text(json.dumps(report))
    table = summarize(sweep)
    assert set(table["test_metric"]) == {"test/mape"} and "test/mape" not in table.columns
    assert {"test/mae", "test/mase", "test/snaive_mape"} <= set(table.columns)


def test_sweep_where_every_job_fails_exits_nonzero_after_its_summary(text_csv, tmp_path):
    out, sweep = tmp_path / "outputs", tmp_path / "outputs" / "multirun" / "broken"
    overrides = [o for o in tiny_run_overrides(text_csv, out) if "hidden_size" not in o]
    done = run_train(
        "-m",
        *overrides,
        f"hydra.sweep.dir={sweep}",
        "model.hidden_size=0",
        "optimizer.lr=1e-3,1e-2",
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "no job of the sweep finished (2 jobs)" in done.stderr
    table = pd.read_csv(sweep / "summary.csv")
    assert list(table["status"]) == ["failed", "failed"]
    assert table["error"].str.contains("hidden_size").all()
    again = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "summarize_sweep.py"), str(sweep)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1 and again.stdout.count("| failed |") == 2
