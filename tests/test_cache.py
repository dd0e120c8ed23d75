"""The preprocessing cache survives killed writers and damaged entries, on a real CSV."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from helpers import ROOT, make_text_frame

from lstmkit.data.cache import MANIFEST, remove_stale_temporaries
from lstmkit.data.text import TextDataModule

# a writer that takes the lock, writes one file and then waits to be killed
WRITER = """
import sys, time
from pathlib import Path
from lstmkit.data.cache import publish

def build(tmp: Path) -> None:
    (tmp / "half.npy").write_bytes(b"x" * 100)
    print("writing", flush=True)
    time.sleep(600)

publish(Path(sys.argv[1]), build)
"""


def start_writer(target: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.stdout.readline().strip() == "writing"
    return proc


def text_module(tmp_path: Path, **options) -> TextDataModule:
    csv = tmp_path / "texts.csv"
    if not csv.exists():
        make_text_frame(n_per_class=10).to_csv(csv, index=False)
    return TextDataModule(str(csv), cache_dir=str(tmp_path / "cache"), **options)


def test_a_killed_writers_temporary_folder_is_removed_a_live_ones_kept(tmp_path):
    cache = tmp_path / "cache"
    live = start_writer(cache / "bbb")
    killed = start_writer(cache / "aaa")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    try:
        leftovers = sorted(p.name for p in cache.glob(".*.tmp"))
        assert [n.split(".")[1] for n in leftovers] == ["aaa", "bbb"]
        dm = text_module(tmp_path)
        dm.setup()  # a miss: cleans up before it writes its own entry
        remaining = sorted(p.name.split(".")[1] for p in cache.glob(".*.tmp"))
        assert remaining == ["bbb"]  # the live writer keeps its folder
        assert dm.cache_folder.is_dir() and not dm.cache_hit
    finally:
        live.kill()
        live.wait()
    assert [p.name.split(".")[1] for p in remove_stale_temporaries(cache)] == ["bbb"]


def test_an_unlocked_leftover_is_removed_once_old(tmp_path):
    old = tmp_path / ".abc.x1.tmp"
    old.mkdir()
    assert remove_stale_temporaries(tmp_path) == []  # could be a writer that just started
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert remove_stale_temporaries(tmp_path) == [old] and not old.exists()


def test_a_truncated_array_is_detected_and_the_entry_rebuilt(tmp_path, caplog):
    first = text_module(tmp_path)
    first.setup()
    expected = first.splits["train"].inputs.values.copy()
    array = first.cache_folder / "train.labels.npy"
    array.write_bytes(array.read_bytes()[:-8])  # e.g. a disk that filled up, a partial copy

    again = text_module(tmp_path)
    with caplog.at_level(logging.WARNING):
        again.setup()
    assert "is damaged (train.labels.npy has" in caplog.text and "rebuilding it" in caplog.text
    assert again.cache_hit is False
    np.testing.assert_array_equal(again.splits["train"].inputs.values, expected)
    assert len(again.splits["train"].targets) == len(first.splits["train"].targets)

    third = text_module(tmp_path)
    third.setup()
    assert third.cache_hit is True  # the rebuilt entry is whole again
    assert not list((tmp_path / "cache").glob(".*"))  # nothing left aside


def test_an_entry_without_its_manifest_is_rebuilt_even_without_use_cache(tmp_path):
    first = text_module(tmp_path)
    first.setup()
    (first.cache_folder / MANIFEST).unlink()
    (first.cache_folder / "test.labels.npy").write_bytes(b"")  # what the manifest would catch
    again = text_module(tmp_path, use_cache=False)  # encodes anew, but publishes nothing new
    again.setup()
    assert again.cache_hit is False and (again.cache_folder / MANIFEST).is_file()
    assert len(again.splits["test"].targets) == len(first.splits["test"].targets)
