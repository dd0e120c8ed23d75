"""The run's own config, saved in its folder as plain data (`config.json`).

It holds the resolved values and the config-group choices (`model=lstm`, `data=airline`).
Resume composes the run again from lstmkit's own conf/ with those choices and takes only
values from the file: a `_target_` in it must equal the one our conf/ gives at that place.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from lstmkit.atomic import read_run_json, write_json
from lstmkit.errors import DataError

FILE = "config.json"
FORMAT = 1
# keys hydra.utils.instantiate acts on: never taken from a file, only compared with ours
INSTANTIATE_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")
NOT_RESTORED = ("hydra", "resume", "ckpt_path", "paths.run_dir")
KEY = re.compile(r"[A-Za-z0-9_-]+")


def group_choices() -> dict[str, str | None]:
    """The config groups this run selected (hydra's own groups left out)."""
    if not HydraConfig.initialized():
        return {}
    choices = HydraConfig.get().runtime.choices
    return {k: v for k, v in choices.items() if not k.startswith("hydra")}


def plain_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without Hydra's own node: plain containers only."""
    plain: dict[Any, Any] = {}  # DictConfig keys are typed str | int | Enum | ...
    for key in cfg:  # hydra's node left unresolved: its run dir resolver reserves folders
        if key != "hydra" and not OmegaConf.is_missing(cfg, key):
            value = cfg[key]
            plain[key] = (
                OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
            )
    return plain


def save_config(folder: str | Path, cfg: DictConfig, choices: dict[str, Any] | None = None) -> None:
    """Write `<folder>/config.json`; `choices` default to this Hydra job's."""
    record = {
        "format": FORMAT,
        "choices": group_choices() if choices is None else choices,
        "config": plain_config(cfg),
    }
    write_json(Path(folder) / FILE, record)


def read_record(folder: str | Path) -> dict[str, Any]:
    """`config.json` of a run folder, checked for shape; its values stay plain data."""
    path = Path(folder) / FILE
    record = read_run_json(
        folder, FILE, "(older runs kept their config inside the checkpoint); start a new run."
    )
    ok = (
        isinstance(record, dict)
        and record.get("format") == FORMAT
        and isinstance(record.get("config"), dict)
        and isinstance(record.get("choices"), dict)
        and all(
            isinstance(k, str) and (v is None or isinstance(v, str))
            for k, v in record["choices"].items()
        )
    )
    if not ok:
        raise DataError(f"{path}: not a config record of format {FORMAT} (choices, config).")
    return record


def restore_values(cfg: DictConfig, saved: Any, path: str, skip: list[str], old_dir: str) -> None:
    """Set the saved values into `cfg` (composed from our conf/), checking them as data."""
    if path in NOT_RESTORED or any(path == k or path.startswith(k + ".") for k in skip):
        return
    name = path.rsplit(".", 1)[-1]
    if path and not KEY.fullmatch(name):
        raise DataError(f"config.json: unexpected key {path!r}.")
    if name in INSTANTIATE_KEYS or _holds_target(saved) and not isinstance(saved, dict):
        ours = OmegaConf.select(cfg, path, default=None)
        ours = OmegaConf.to_container(ours) if OmegaConf.is_config(ours) else ours
        if ours != saved:
            raise DataError(
                f"config.json: {path} = {saved!r} is not what lstmkit's conf/ gives here "
                f"({ours!r}); a run folder cannot choose code to run. Start a new run."
            )
        return
    if isinstance(saved, dict):
        for key, value in saved.items():
            restore_values(cfg, value, f"{path}.{key}" if path else str(key), skip, old_dir)
        return
    if isinstance(saved, str) and "${" in saved:
        raise DataError(f"config.json: {path} holds an interpolation {saved!r}; values only.")
    if isinstance(saved, str) and old_dir and (saved == old_dir or saved.startswith(old_dir + "/")):
        return  # a path inside the run folder: ours points at the folder being resumed
    with open_dict(cfg):
        OmegaConf.update(cfg, path, saved, force_add=True)


def _holds_target(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k in INSTANTIATE_KEYS or _holds_target(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_target(v) for v in value)
    return False
