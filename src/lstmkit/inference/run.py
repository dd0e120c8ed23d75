"""Load a finished run folder: its checkpoint (weights only), preprocessing and network."""

from __future__ import annotations

import json
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from lstmkit.errors import DataError

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
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise DataError(f"{path} is not a Lightning checkpoint (no state_dict).")
    return ckpt


def model_kwargs(spec: dict[str, Any], preprocessor: Path) -> dict[str, Any]:
    """The sizes the data dictated at training time, rebuilt from the saved preprocessing."""
    kind = spec["kind"]
    if kind == "text":
        from tokenizers import Tokenizer

        vocab = Tokenizer.from_file(str(preprocessor / "tokenizer.json")).get_vocab_size()
        return {"vocab_size": vocab, "num_classes": len(spec["labels"])}
    if kind == "sequences":
        return {"input_size": len(spec["feature_columns"]), "num_classes": len(spec["labels"])}
    if kind == "timeseries":
        return {
            "input_size": len(spec["value_columns"]) + len(spec["covariate_columns"]),
            "horizon": spec["horizon"],
            "num_targets": len(spec["value_columns"]),
        }
    raise DataError(f"{preprocessor}/preprocessor.json: unknown kind {kind!r}.")


@dataclass
class LoadedRun:
    """What predict and export need from a run folder."""

    folder: Path
    checkpoint: Path
    config: dict[str, Any]  # the run's resolved config, as saved in the checkpoint
    spec: dict[str, Any]  # preprocessor/preprocessor.json
    net: nn.Module

    @property
    def preprocessor(self) -> Path:
        return self.folder / "preprocessor"


def load_run(run_dir: str | Path, which: str = "best") -> LoadedRun:
    """Rebuild the trained network in eval mode from a run folder (no Lightning, no Trainer)."""
    folder = Path(run_dir)
    path = find_checkpoint(folder, which)
    spec_path = folder / "preprocessor" / "preprocessor.json"
    if not spec_path.is_file():
        raise DataError(
            f"{folder} has no preprocessor/preprocessor.json; it is not a complete run folder."
        )
    spec = json.loads(spec_path.read_text())
    ckpt = load_checkpoint(path)
    config = (ckpt.get("hyper_parameters") or {}).get("run_config")
    if not config:
        raise DataError(f"{path} holds no run_config; it was not written by train.py.")
    model_cfg = OmegaConf.create(config["model"])
    if "pretrained_embeddings" in model_cfg:
        model_cfg.pretrained_embeddings = None  # the trained weights come from the checkpoint
    net = instantiate(model_cfg, **model_kwargs(spec, folder / "preprocessor"))
    state = {
        k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")
    }
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise DataError(
            f"{path} does not match the network its run config describes: {str(e).splitlines()[0]}"
        ) from None
    net.eval()
    return LoadedRun(folder, path, config, spec, net)
