"""scripts/suite.py runs end to end on one tiny case: our scores beside the baselines."""

from __future__ import annotations

import pandas as pd
from helpers import run_script


def test_suite_runs_one_tiny_forecasting_case(tmp_path):
    out = tmp_path / "suite"
    tiny = ("budget.min_steps=0", "trainer.max_epochs=1", "model.hidden_size=8")
    args = ["--cases", "shampoo", "--seeds", "1", "--out", str(out)]
    done = run_script("scripts/suite.py", *args, *(f"--override={o}" for o in tiny), timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = pd.read_csv(out / "suite.csv")
    scored = set(zip(rows["who"], rows["metric"], strict=True))
    for who in ("ours", "naive", "seasonal_naive", "ets"):
        assert (who, "test/mae") in scored, who
    assert ("ours", "val/mae") in scored  # the validation column defaults are chosen by
    table = (out / "suite.md").read_text()
    assert "| shampoo | mae |" in table and "ets test" in table
    again = run_script("scripts/suite.py", *args, *(f"--override={o}" for o in tiny), timeout=300)
    assert again.returncode == 0 and "shampoo seed 0" not in again.stdout  # the run was kept
