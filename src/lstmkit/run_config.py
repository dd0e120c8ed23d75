"""The run's own config, saved in its folder as plain data (`config.json`).

It holds the resolved values and the config-group choices (`model=lstm`, `data=airline`).
Resume composes the run again from lstmkit's own conf/ with those choices and takes only
values from the file: a `_target_` in it must equal the one our conf/ gives at that place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from lstmkit.atomic import write_json
from lstmkit.errors import DataError

FILE = "config.json"
FORMAT = 1


def group_choices() -> dict[str, str | None]:
    """The config groups this run selected (hydra's own groups left out)."""
    if not HydraConfig.initialized():
        return {}
    choices = HydraConfig.get().runtime.choices
    return {k: v for k, v in choices.items() if not k.startswith("hydra")}


def plain_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without Hydra's own node: plain containers only."""
    plain = {}
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
    if not path.is_file():
        raise DataError(
            f"{folder} has no {FILE}: it is not a run folder written by this lstmkit "
            "(older runs kept their config inside the checkpoint); start a new run."
        )
    try:
        record = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e}).") from None
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
