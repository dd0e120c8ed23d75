"""Run folders: unique per run, checkpoints never half written, results strict and meaningful."""

from __future__ import annotations

import errno
import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from helpers import make_text_frame, run_train, tiny_run_overrides, train_together
from lightning.fabric.utilities.cloud_io import _atomic_save
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.demos.boring_classes import BoringModel
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lstmkit.atomic import write_json
from lstmkit.callbacks.checkpoint import AtomicCheckpoint, relocate
from lstmkit.run_dirs import new_dir


class DiskFullIO(TorchCheckpointIO):
    """Writes half of each checkpoint straight into its file, then fails as a full disk does."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        tmp = Path(f"{path}.whole")
        _atomic_save(checkpoint, tmp)
        data = tmp.read_bytes()
        tmp.unlink()
        Path(path).write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(path))


def fit(folder: Path, checkpoint: ModelCheckpoint, epochs: int, plugins=(), ckpt_path=None):
    trainer = L.Trainer(
        default_root_dir=folder,
        max_epochs=epochs,
        limit_train_batches=2,
        limit_val_batches=1,
        callbacks=[checkpoint],
        plugins=list(plugins),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(BoringModel(), ckpt_path=ckpt_path, weights_only=True)


@pytest.mark.parametrize("kind,survives", [(AtomicCheckpoint, True), (ModelCheckpoint, False)])
def test_a_failed_checkpoint_write_leaves_the_previous_last_ckpt(tmp_path, kind, survives):
    """Lightning's own callback is the control: the same full disk truncates its last.ckpt."""
    folder = tmp_path / "checkpoints"
    fit(tmp_path, kind(dirpath=folder, save_top_k=0, save_last=True), epochs=1)
    last = folder / "last.ckpt"
    before = last.read_bytes()
    with pytest.raises(OSError, match="No space left"):
        fit(
            tmp_path,
            kind(dirpath=folder, save_top_k=0, save_last=True),
            2,
            [DiskFullIO()],
            str(last),
        )
    assert (last.read_bytes() == before) is survives
    if survives:
        assert torch.load(last, weights_only=True)["global_step"] == 2  # the first fit's
        assert not list(folder.glob(".*.tmp"))


def test_checkpoint_bookkeeping_follows_a_moved_folder():
    state = {
        "dirpath": "/old/run/checkpoints",
        "best_model_path": "/old/run/checkpoints/best.ckpt",
        "best_k_models": {"/old/run/checkpoints/best.ckpt": 0.5},
        "kth_best_model_path": "/elsewhere/x.ckpt",
    }
    moved = relocate(state, "/old/run/checkpoints", "/new/run/checkpoints")
    assert moved["best_model_path"] == "/new/run/checkpoints/best.ckpt"
    assert moved["best_k_models"] == {"/new/run/checkpoints/best.ckpt": 0.5}
    assert moved["kth_best_model_path"] == "/elsewhere/x.ckpt"


def test_new_dir_takes_a_suffix_when_the_folder_exists(tmp_path):
    first = new_dir(str(tmp_path / "runs" / "12-00-00"))
    assert first == str(tmp_path / "runs" / "12-00-00") and Path(first).is_dir()
    assert new_dir(str(tmp_path / "runs" / "12-00-00")) == first  # resolved again: same folder
    (tmp_path / "runs" / "12-00-01").mkdir()  # another process got there first
    assert new_dir(str(tmp_path / "runs" / "12-00-01")) == str(tmp_path / "runs" / "12-00-01_1")


@pytest.mark.slow
def test_two_runs_started_together_get_their_own_folders(tmp_path):
    """Both runs resolve the same folder name (as in the same second); neither shares it."""
    csv = tmp_path / "texts.csv"
    make_text_frame().to_csv(csv, index=False)
    same = "hydra.run.dir='${lstmkit.new_dir:" + str(tmp_path / "o" / "same") + "}'"
    args = [*tiny_run_overrides(csv, tmp_path / "o", "trainer.max_epochs=1"), same]
    train_together(*args)
    folders = sorted((tmp_path / "o").glob("same*"))
    assert [f.name for f in folders] == ["same", "same_1"]
    seeds = sorted(json.loads((f / "config.json").read_text())["config"]["seed"] for f in folders)
    assert seeds == [1, 2]
    for folder in folders:
        assert (folder / "checkpoints" / "last.ckpt").is_file()
        assert len(list((folder / "tensorboard").glob("events.*"))) >= 1


@pytest.mark.slow
def test_max_epochs_zero_is_refused(text_csv, tmp_path):
    done = run_train(*tiny_run_overrides(text_csv, tmp_path / "o", "trainer.max_epochs=0"))
    assert done.returncode == 2
    assert "trainer.max_epochs=0 trains nothing" in done.stdout + done.stderr
    assert not (tmp_path / "o" / "run" / "metrics.json").exists()


def test_json_we_write_is_strict(tmp_path, caplog):
    path = tmp_path / "metrics.json"
    write_json(path, {"objective": {"value": math.nan}, "metrics": {"val/mape": math.inf}})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"objective": {"value": None}, "metrics": {"val/mape": None}}
    assert "objective.value=nan" in caplog.text and "metrics.val/mape=inf" in caplog.text
