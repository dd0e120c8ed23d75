"""Load a finished run folder: its checkpoint (weights only), preprocessing and network."""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lstmkit.errors import DataError
from lstmkit.inference.preprocessor import read_preprocessor
from lstmkit.models.spec import ModelSpec
from lstmkit.run_config import read_record

CHECKPOINTS = ("best", "last")


def find_checkpoint(run_dir: str | Path, which: str = "best") -> Path:
    """`best` / `last` in the run's checkpoints/ folder, or a path to a .ckpt file."""
    run_dir = Path(run_dir)
    if which not in CHECKPOINTS:
        path = Path(which)
        if not path.is_file():
            raise DataError(f"checkpoint not found: {path}. Give best, last or a .ckpt file.")
        return path
    if not run_dir.is_dir():
        raise DataError(
            f"run folder not found: {run_dir}. Give the folder train.py wrote "
            "(outputs/runs/<name>/<time>)."
        )
    path = run_dir / "checkpoints" / f"{which}.ckpt"
    if not path.is_file():
        raise DataError(
            f"{run_dir} has no checkpoints/{which}.ckpt: the run did not finish an "
            "epoch. Train it (or resume it) first."
        )
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """`torch.load(weights_only=True)`: a user's file is never unpickled as arbitrary objects."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(
            f"cannot read checkpoint {path}: {first}. The file is corrupt or "
            "truncated (or not a checkpoint); use another one (best/last)."
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise DataError(f"{path} is not a Lightning checkpoint (no state_dict).")
    return ckpt


def model_sizes(spec: dict[str, Any], preprocessor: Path) -> dict[str, Any]:
    """The sizes the saved preprocessing implies; the model spec must agree with them."""
    kind = spec["kind"]
    if kind == "text":
        from tokenizers import Tokenizer

        try:
            vocab = Tokenizer.from_file(str(preprocessor / "tokenizer.json")).get_vocab_size()
        except Exception as e:  # the Rust parser's own error type
            raise DataError(f"{preprocessor}/tokenizer.json cannot be read: {e}.") from None
        return {"vocab_size": vocab, "num_classes": len(spec["labels"])}
    if kind == "sequences":
        width = len(spec["feature_columns"]) * (spec.get("patch") or 1)  # steps read together
        return {"input_size": width, "num_classes": len(spec["labels"])}
    known = spec.get("future_size") or 0  # known-future inputs: the last columns
    return {
        "input_size": len(spec["value_columns"]) + len(spec["covariate_columns"]) + known,
        "horizon": spec["horizon"],
        "num_targets": len(spec["value_columns"]),
    } | ({"future_size": known} if known else {})


@dataclass
class LoadedRun:
    """What predict and export need from a run folder."""

    folder: Path
    checkpoint: Path
    config: dict[str, Any]  # the run's resolved config (config.json), plain data
    spec: dict[str, Any]  # preprocessor/preprocessor.json, checked
    model: ModelSpec  # model.json, checked
    net: nn.Module

    @property
    def preprocessor(self) -> Path:
        return self.folder / "preprocessor"


def weights(path: Path, ckpt: dict[str, Any], model: ModelSpec) -> dict[str, torch.Tensor]:
    """The network's tensors from a checkpoint, shape-checked against the spec before any build.

    Checking on the meta device first means a spec with absurd sizes allocates nothing.
    """
    state = {
        k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")
    }
    expected = model.shapes()
    got = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    if got != expected:
        wrong = sorted(set(got) ^ set(expected) | {k for k in got if got[k] != expected.get(k)})
        raise DataError(
            f"{path} does not match the network in model.json ({model.kind}): "
            f"{len(wrong)} tensor(s) differ, e.g. {wrong[:3]}."
        )
    return state


def load_run(run_dir: str | Path, which: str = "best") -> LoadedRun:
    """Rebuild the trained network in eval mode from a run folder (no Lightning, no Trainer).

    Everything comes from plain, checked data: model.json picks one of our classes, the
    checkpoint gives tensors only, and no `_target_` from the folder is ever called.
    """
    folder = Path(run_dir)
    path = find_checkpoint(folder, which)
    spec = read_preprocessor(folder)
    model = ModelSpec.load(folder)
    sizes = model_sizes(spec, folder / "preprocessor")
    differ = {k: (model.params.get(k), v) for k, v in sizes.items() if model.params.get(k) != v}
    if differ:
        raise DataError(
            f"{folder}: model.json does not fit preprocessor/ (model vs data: {differ}); "
            "the folder mixes files of different runs."
        )
    state = weights(path, load_checkpoint(path), model)
    net = model.build()
    net.load_state_dict(state)
    net.eval()
    return LoadedRun(folder, path, read_record(folder)["config"], spec, model, net)
