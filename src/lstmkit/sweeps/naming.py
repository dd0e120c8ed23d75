"""Readable names for sweep jobs: only the overrides that vary across the sweep."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from lstmkit.sweeps.jobs import in_multirun


def override_key(line: str) -> str:
    """`+model.dropout=0.1` -> `model.dropout`; `model=gru` -> `model`."""
    return line.split("=", 1)[0].lstrip("+~")


def swept_keys(sweep_dir: str | Path) -> set[str]:
    """Keys the sweep varies: sweep syntax on the command line plus a sweeper's search space.

    Read from the `multirun.yaml` every sweeper writes before launching jobs.
    """
    path = Path(sweep_dir) / "multirun.yaml"
    if not path.is_file():
        return set()
    cfg = OmegaConf.load(path)
    lines = list(OmegaConf.select(cfg, "hydra.overrides.task", default=[]) or [])
    parsed = OverridesParser.create().parse_overrides(lines)
    keys = {o.key_or_group for o in parsed if o.is_sweep_override()}
    fixed = {o.key_or_group for o in parsed if not o.is_sweep_override()}
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
    return keys | ({override_key(str(k)) for k in params} - fixed)


def override_value(value: Any) -> str:
    """A trial's value written back as a Hydra override value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)


def short(line: str) -> str:
    """`optimizer.lr=0.0026070247583707684` -> `optimizer.lr=0.002607` (names, not configs)."""
    key, _, value = line.partition("=")
    try:
        number = float(value)
    except ValueError:
        return line
    return line if number.is_integer() else f"{key}={number:.4g}"


def label(overrides: Iterable[str], keys: set[str]) -> str:
    """`model.hidden_size=64,optimizer.lr=0.001`: the swept overrides, safe as a folder name."""
    chosen = sorted(o for o in overrides if override_key(o) in keys) or sorted(overrides)
    return ",".join(short(o) for o in chosen).replace("/", "_").replace(" ", "")[:200]


def job_label() -> str | None:
    """This sweep job's label (None outside a multirun): names its TensorBoard run."""
    if not in_multirun():
        return None
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    return label(list(hc.overrides.task), swept_keys(hc.sweep.dir)) or None
