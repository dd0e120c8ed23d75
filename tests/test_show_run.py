"""scripts/show_run.py on a real tiny run that was moved: config diff, epochs, metrics, figures."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest
from helpers import ROOT, run_train, tiny_run_overrides

from lstmkit.runview.history import from_tensorboard

pytestmark = pytest.mark.slow


def show(run) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "show_run.py"), str(run)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_show_run_reads_a_moved_run_folder_alone(text_csv, tmp_path):
    done = run_train(*tiny_run_overrides(text_csv, tmp_path / "first"))
    assert done.returncode == 0, done.stderr[-3000:]
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(tmp_path / "first" / "run", moved)
    shutil.rmtree(tmp_path / "first")
    text_csv.unlink()  # nothing outside the run folder is needed

    shown = show(moved)
    assert shown.returncode == 0, shown.stderr[-3000:]
    out = shown.stdout
    assert f"run {moved}: ok" in out
    # config diff against the defaults for the same group choices (data=text_csv)
    assert "  model.hidden_size: 128 -> 16" in out and "  trainer.max_epochs: 10 -> 2" in out
    assert "data.text_column" not in out  # unchanged values are not listed
    # the epoch table, one row per epoch, from the epoch-summary callback's epochs.csv
    epochs = pd.read_csv(moved / "epochs.csv")
    assert list(epochs["epoch"]) == [0, 1]
    assert {"val/acc", "train/loss", "train/acc", "train/f1", "seconds"} <= set(epochs)
    # training metrics are logged on the last batch of each epoch only: every epoch has them
    assert epochs[["train/acc", "train/f1"]].notna().all().all()
    assert "== epochs ==" in out and "val/acc" in out.split("== epochs ==")[1]
    # final metrics beside the baseline, and the figures kept in the moved folder
    assert "most frequent class 0.3333" in out
    figures = out.split("== figures ==")[1].strip().splitlines()
    assert any(line.endswith(": test/confusion_matrix") for line in figures)
    assert all(line.startswith(str(moved)) for line in figures)

    # a run without epochs.csv (older runs): the same epochs read from TensorBoard
    logged = from_tensorboard(moved)
    assert list(logged["epoch"]) == [0, 1]
    assert logged["val/acc"].tolist() == pytest.approx(epochs["val/acc"].tolist())


def test_show_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    shown = show(tmp_path)
    assert shown.returncode == 2 and "is not a run folder" in shown.stderr
