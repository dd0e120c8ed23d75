"""Resume from a run folder after a SIGKILL mid-epoch; same seed, same metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from faults import ENV
from helpers import ROOT, tiny_run_overrides
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lstmkit.errors import ConfigError, DataError
from lstmkit.resume import prepare_resume

EXTRA = (
    "trainer.max_epochs=3",
    "trainer.deterministic=true",
    "model.dropout=0.3",
    "model.embedding_dropout=0.2",
    "model.num_layers=2",
    "callbacks.early_stopping=null",
    "+callbacks.kill._target_=faults.KillAtStep",
    "test_after_fit=true",
)


def train(*overrides: str, kill_at: int | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
        "HYDRA_FULL_ERROR": "0",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop(ENV, None)
    if kill_at is not None:
        env[ENV] = str(kill_at)
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(text_csv, tmp_path):
    out = tmp_path / "o"
    base = tiny_run_overrides(text_csv, out, *EXTRA)
    whole = train(*base, f"hydra.run.dir={out}/whole")
    assert whole.returncode == 0, whole.stderr[-3000:]
    again = train(*base, f"hydra.run.dir={out}/again")
    assert again.returncode == 0, again.stderr[-3000:]
    steps = metrics(out / "whole")["global_step"] // 3  # optimizer steps per epoch

    killed = train(*base, f"hydra.run.dir={out}/killed", kill_at=2 * steps + 2)
    assert killed.returncode == -signal.SIGKILL  # mid third epoch, no clean shutdown
    run = out / "killed"
    assert not (run / "metrics.json").exists()
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 1 and last["global_step"] == 2 * steps  # end of the 2nd epoch

    resumed = train(f"resume={run}", "+callbacks.kill._target_=faults.KillAtStep")  # code: ours

    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in (run / "train.log").read_text()

    reference, second, continued = metrics(out / "whole"), metrics(out / "again"), metrics(run)
    assert second["metrics"] == reference["metrics"]  # same seed: identical, not just close
    assert continued["metrics"] == reference["metrics"]
    print("\nuninterrupted:", reference["metrics"], "\nkilled + resumed:", continued["metrics"])
    assert (continued["epochs"], continued["global_step"]) == (3, 3 * steps)
    assert not any(p.name.startswith(".") and p.suffix == ".tmp" for p in run.iterdir())

    events = EventAccumulator(str(run / "tensorboard"))  # the same TensorBoard run, continued
    events.Reload()
    assert [e.step for e in events.Scalars("val/acc")] == [steps - 1, 2 * steps - 1, 3 * steps - 1]


def test_resume_refuses_a_folder_without_checkpoint(tmp_path):
    cfg = OmegaConf.create({"resume": str(tmp_path)})
    with pytest.raises(DataError, match=r"no config.json"):
        prepare_resume(cfg)
    with pytest.raises(ConfigError, match=r"no such run folder"):
        prepare_resume(OmegaConf.create({"resume": str(tmp_path / "gone")}))
    assert prepare_resume(OmegaConf.create({"resume": "???"})) is None  # the default: new run
