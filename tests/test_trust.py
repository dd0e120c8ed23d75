"""A run folder is data: hostile run folders are refused (exit 2, a clear message) and run nothing.

Every payload below would write a marker file if any of our tools called what the folder
names; `test_the_payload_really_runs_code_when_instantiated` proves that it would.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import ROOT, make_text_frame, run_train, tiny_run_overrides
from hydra.errors import InstantiationException
from hydra.utils import instantiate

pytestmark = pytest.mark.slow


class WriteMarker:
    """Unpickling this calls `open(path, "w")`: the marker file appears."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def payload(marker: Path) -> dict:
    """The issue's route: `torch.load(weights_only=False)` of an embedded base64 pickle."""
    blob = base64.b64encode(pickle.dumps(WriteMarker(marker))).decode()
    return {
        "_target_": "torch.load",
        "f": {
            "_target_": "io.BytesIO",
            "initial_bytes": {"_target_": "base64.b64decode", "s": blob},
        },
        "weights_only": False,
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One tiny finished text run; each test edits its own copy."""
    tmp = tmp_path_factory.mktemp("trusted")
    csv = tmp / "texts.csv"
    make_text_frame().to_csv(csv, index=False)
    done = run_train(*tiny_run_overrides(csv, tmp / "out", "trainer.max_epochs=1"))
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "out" / "run"


@pytest.fixture
def run(trained, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def legacy_pickle(run: Path, marker: Path) -> None:
    for name in ("best", "last"):
        (run / "checkpoints" / f"{name}.ckpt").write_bytes(pickle.dumps(WriteMarker(marker)))


def malicious_torch_save(run: Path, marker: Path) -> None:
    ckpt = run / "checkpoints" / "best.ckpt"
    state = torch.load(ckpt, weights_only=True)
    state["extra"] = WriteMarker(marker)
    for name in ("best", "last"):
        torch.save(state, run / "checkpoints" / f"{name}.ckpt")


def old_layout(run: Path, marker: Path) -> None:
    """The layout before model.json: the network's config inside the checkpoint."""
    (run / "model.json").unlink()
    for name in ("best", "last"):
        path = run / "checkpoints" / f"{name}.ckpt"
        state = torch.load(path, weights_only=True)
        state["hyper_parameters"]["run_config"] = {"model": payload(marker)}
        torch.save(state, path)


def target_in_model_spec(run: Path, marker: Path) -> None:
    edit_json(run / "model.json", lambda m: m["params"].update(hidden_size=payload(marker)))


def target_as_kind(run: Path, marker: Path) -> None:
    edit_json(run / "model.json", lambda m: m.update(kind="torch.load"))


def size_out_of_range(run: Path, marker: Path) -> None:
    edit_json(run / "model.json", lambda m: m["params"].update(hidden_size=10**9))


def size_not_the_weights(run: Path, marker: Path) -> None:
    edit_json(run / "model.json", lambda m: m["params"].update(hidden_size=4096))


def preprocessor_types(run: Path, marker: Path) -> None:
    path = run / "preprocessor" / "preprocessor.json"
    edit_json(path, lambda p: p.update(labels=payload(marker), text_column=["text"]))


def target_in_config(run: Path, marker: Path) -> None:
    def plant(record: dict) -> None:
        record["config"]["data"]["tokenizer"] = payload(marker)
        record["config"]["callbacks"]["evil"] = payload(marker)

    edit_json(run / "config.json", plant)


HOSTILE = {
    "legacy pickle": (legacy_pickle, r"cannot read checkpoint .*corrupt or truncated"),
    "torch.save of a malicious object": (malicious_torch_save, r"cannot read checkpoint"),
    "old layout: _target_ in the checkpoint": (old_layout, r"has no model\.json"),
    "_target_ nested in model.json": (
        target_in_model_spec,
        r"model\.hidden_size must be of type int",
    ),
    "unknown kind": (target_as_kind, r"unknown model kind 'torch\.load'"),
    "size out of range": (size_out_of_range, r"model\.hidden_size must be in \[1, 16384\]"),
    "size not matching the weights": (size_not_the_weights, r"does not match the network"),
    "preprocessor.json types": (preprocessor_types, r"unexpected value for labels, text_column"),
}


def tool(name: str, run: Path, tmp: Path) -> list[str]:
    if name == "predict":
        csv = tmp / "new.csv"
        make_text_frame(2).to_csv(csv, index=False)
        return [str(ROOT / "predict.py"), f"run={run}", f"input={csv}"]
    if name == "export":
        return [str(ROOT / "scripts" / "export_onnx.py"), f"run={run}", f"output={tmp / 'm.onnx'}"]
    return [str(ROOT / "train.py"), f"resume={run}", "trainer.max_epochs=2"]


def refused(args: list[str], marker: Path, message: str) -> None:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]
    assert re.search(message, output), output[-3000:]
    assert "Traceback" not in output
    assert not marker.exists(), "the run folder ran code"


def entry_point(script: Path):
    """The `main(args) -> exit code` of a CLI script, loaded in-process (no interpreter start)."""
    spec = importlib.util.spec_from_file_location(f"cli_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("name", ["predict", "export"])
def test_predict_and_export_refuse_hostile_run_folders(name, case, run, tmp_path, caplog):
    marker = tmp_path / "marker"
    plant, message = HOSTILE[case]
    plant(run, marker)
    script, *args = tool(name, run, tmp_path)
    assert entry_point(Path(script))(args) == 2
    assert re.search(message, caplog.text), caplog.text
    assert not marker.exists(), "the run folder ran code"


def test_predict_cli_refuses_the_issue_payload_with_exit_2(run, tmp_path):
    """The whole command, as a user runs it, on the old layout with the issue's payload."""
    marker = tmp_path / "marker"
    old_layout(run, marker)
    refused(tool("predict", run, tmp_path), marker, r"has no model\.json")


RESUME = {
    **{k: HOSTILE[k] for k in ("legacy pickle", "torch.save of a malicious object")},
    "_target_ nested in config.json": (target_in_config, r"a run folder cannot choose code"),
    "_target_ nested in model.json": HOSTILE["_target_ nested in model.json"],
    "unknown kind": HOSTILE["unknown kind"],
}


@pytest.mark.parametrize("case", RESUME)
def test_resume_refuses_hostile_run_folders_and_changes_nothing(case, run, tmp_path):
    marker = tmp_path / "marker"
    plant, message = RESUME[case]
    plant(run, marker)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != "train.log"}
    refused(tool("resume", run, tmp_path), marker, message)
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != "train.log"}
    assert after == before


def test_resume_refuses_a_group_choice_outside_our_conf(run, tmp_path):
    edit_json(run / "config.json", lambda r: r["choices"].update(model="../../tmp/evil"))
    refused(tool("resume", run, tmp_path), tmp_path / "marker", r"not a config of lstmkit")


def test_the_payload_really_runs_code_when_instantiated(tmp_path):
    """The guard for every test above: this payload is live if anything instantiates it."""
    marker = tmp_path / "marker"
    with pytest.raises(InstantiationException, match="magic number"):  # after the pickle ran
        instantiate(payload(marker))
    assert marker.exists()
