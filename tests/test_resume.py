"""Resume from a run folder after a SIGKILL mid-epoch; same seed, same metrics."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from faults import ENV
from helpers import ROOT, make_text_frame, run_script, tiny_run_overrides
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
    """train.py with tests/ importable (the fault callback), killed at step `kill_at` if set."""
    path = os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": path, ENV: "" if kill_at is None else str(kill_at)}
    return run_script("train.py", *overrides, env=env)


def epochs_trained(run: Path) -> int:
    """Epochs last.ckpt has trained. Its `epoch` field is not that: Lightning 2.6 writes last.ckpt
    at validation only when the best one improves, else at the end of fit (epoch + 1)."""
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    return int(ckpt["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])


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


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A tiny run that finished its one epoch; tests resume copies of it."""
    tmp = tmp_path_factory.mktemp("finished")
    csv = tmp / "texts.csv"
    make_text_frame().to_csv(csv, index=False)
    done = train(*tiny_run_overrides(csv, tmp / "o", "trainer.max_epochs=1"))
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "o" / "run"


def snapshot(folder: Path, *skip: str) -> dict[Path, bytes]:
    return {
        p.relative_to(folder): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    }


@pytest.mark.slow
def test_a_copied_or_moved_run_resumes_into_itself(finished, tmp_path):
    original = snapshot(finished)
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    done = train(f"resume={copy}", "trainer.max_epochs=2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert snapshot(finished) == original  # nothing written into the folder it was copied from
    report = metrics(copy)
    assert report["epochs"] == 2 and report["best_checkpoint"].startswith(str(copy))
    assert epochs_trained(copy) == 2
    history = yaml.safe_load((copy / ".hydra" / "overrides.yaml").read_text())
    first = yaml.safe_load((finished / ".hydra" / "overrides.yaml").read_text())
    assert history == [*first, "trainer.max_epochs=2"]  # appended, not replaced

    moved = tmp_path / "moved"
    shutil.move(copy, moved)
    done = train(f"resume={moved}", "trainer.max_epochs=3")
    assert done.returncode == 0, done.stderr[-3000:]
    assert not copy.exists()  # the old path is not recreated
    assert epochs_trained(moved) == 3
    assert metrics(moved)["epochs"] == 3


@pytest.mark.slow
def test_a_finished_run_is_complete_and_left_untouched(finished):
    before = snapshot(finished, "train.log")
    done = train(f"resume={finished}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "is complete" in done.stdout + done.stderr
    assert snapshot(finished, "train.log") == before
    assert metrics(finished)["objective"]["value"] is not None


@pytest.mark.slow
def test_refused_resumes_change_nothing(finished, tmp_path):
    before = snapshot(finished)
    done = train(f"resume={finished}", "model=gru")  # refused before Hydra starts
    assert done.returncode == 2 and "keeps its own 'model' config group" in done.stderr
    assert snapshot(finished) == before  # not even a log line
    kept = {k: v for k, v in before.items() if k.name != "train.log"}
    for args, message in [
        ([f"data.path={tmp_path / 'other.csv'}"], r"data\.path would change the run's data"),
        (["model.hidden_size=32"], r"model\.hidden_size would change"),
    ]:
        done = train(f"resume={finished}", *args)
        assert done.returncode == 2, done.stderr[-3000:]
        assert re.search(message, done.stdout + done.stderr), done.stdout[-2000:]
        assert snapshot(finished, "train.log") == kept  # .hydra/, checkpoints, preprocessor/
    missing = tmp_path / "no-such-run"
    done = train(f"resume={missing}")
    assert done.returncode == 2 and "no such run folder" in done.stderr
    assert not missing.exists()


@pytest.mark.slow
def test_a_resume_that_reads_changed_data_is_refused_before_writing(tmp_path):
    csv = tmp_path / "texts.csv"
    make_text_frame().to_csv(csv, index=False)
    done = train(*tiny_run_overrides(csv, tmp_path / "o", "trainer.max_epochs=1"))
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "o" / "run"
    make_text_frame(seed=1).to_csv(csv, index=False)  # same file, other rows
    before = snapshot(run, "train.log")
    done = train(f"resume={run}", "trainer.max_epochs=2")
    assert done.returncode == 2
    assert "the data changed since the run started" in done.stdout + done.stderr
    assert snapshot(run, "train.log") == before  # preprocessor/ and checkpoints intact
