"""Readable logs when stdout is not a terminal: no bar frames, epoch lines and step rates."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd
from helpers import ROOT, tiny_run_overrides
from lightning.pytorch.callbacks import TQDMProgressBar

from lstmkit.callbacks.epoch_summary import EpochSummary
from lstmkit.callbacks.progress import StepRateLog, progress_bar


def test_piped_training_log_has_no_bar_frames_but_epoch_and_step_rate_lines(text_csv, tmp_path):
    keep_bar = [o for o in tiny_run_overrides(text_csv, tmp_path) if "progress_bar" not in o]
    # bytes, not text=True: universal newlines would turn the bar's \r frames into \n
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            *keep_bar,
            "callbacks.progress_bar.every_n_steps=2",
        ],
        capture_output=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert b"\r" not in done.stdout + done.stderr
    stdout = done.stdout.decode()
    assert "it/s" not in stdout  # no tqdm frames
    assert re.search(r"epoch 0 \(\d+\.\ds\): .*val/acc", stdout)
    assert re.search(r"epoch 1 \(\d+\.\ds\): .*val/acc", stdout)
    steps = re.findall(r"epoch (\d) step (\d+)/(\d+): [\d.]+ steps/s, .*train/loss_step", stdout)
    assert {s[0] for s in steps} == {"0", "1"} and all(int(s[1]) % 2 == 0 for s in steps)
    log = (tmp_path / "run" / "train.log").read_bytes()
    assert b"steps/s" in log and b"\r" not in log


def test_a_terminal_keeps_the_tqdm_bar_and_a_pipe_gets_step_lines(monkeypatch):
    for (reader, writer), expected in ((os.openpty(), TQDMProgressBar), (os.pipe(), StepRateLog)):
        with os.fdopen(writer, "w") as stdout:
            monkeypatch.setattr(sys, "stdout", stdout)
            assert isinstance(progress_bar(refresh_rate=5, every_n_steps=7), expected)
        os.close(reader)


def test_epoch_table_keeps_earlier_epochs_and_replaces_a_replayed_one(tmp_path):
    path = tmp_path / "epochs.csv"
    for epoch, loss in ((0, 0.9), (1, 0.7), (2, 0.6), (2, 0.5)):  # a resume replays epoch 2
        EpochSummary._write(path, {"epoch": epoch, "seconds": 1.0, "val/loss": loss})
    table = pd.read_csv(path)
    assert list(table["epoch"]) == [0, 1, 2] and list(table["val/loss"]) == [0.9, 0.7, 0.5]
