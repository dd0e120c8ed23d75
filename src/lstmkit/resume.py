"""Continue an interrupted run in its own folder: `python train.py resume=<run dir>`.

The run's own config comes back from its last checkpoint (saved there as plain containers,
read with `weights_only=True`); plain `key=value` overrides on the resume command line
(e.g. `trainer.max_epochs=20`) are applied on top. Lightning restores the epoch and step
counters, optimizer, scheduler, early-stopping and checkpoint state from `last.ckpt`, and the
TensorBoard logger writes into the same `tensorboard/` folder, so curves continue.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from lstmkit.atomic import atomic_path
from lstmkit.errors import ConfigError, DataError
from lstmkit.inference.run import load_checkpoint

log = logging.getLogger(__name__)


def resume_requested(cfg: DictConfig) -> bool:
    return "resume" in cfg and not OmegaConf.is_missing(cfg, "resume") and bool(cfg.resume)


def command_overrides(cfg: DictConfig) -> list[str]:
    """Keys given as plain values on this command line (not config groups, not hydra.*)."""
    if not HydraConfig.initialized():
        return []
    hc = HydraConfig.get()
    keys = []
    for override in hc.overrides.task:
        key = override.split("=", 1)[0].lstrip("+~")
        if key == "resume" or key.startswith("hydra"):
            continue
        if key in hc.runtime.choices:
            raise ConfigError(
                f"{override}: a resumed run keeps its own {key!r} config group. "
                "Start a new run to change it."
            )
        keys.append(key)
    return keys


def resume_config(cfg: DictConfig) -> DictConfig:
    """The config to continue `cfg.resume` with, or `cfg` itself when not resuming."""
    if not resume_requested(cfg):
        return cfg
    folder = Path(cfg.resume)
    last = folder / "checkpoints" / "last.ckpt"
    if not folder.is_dir():
        raise ConfigError(f"resume={folder}: no such run folder.")
    if not last.is_file():
        raise DataError(
            f"resume={folder}: no checkpoints/last.ckpt (the run never finished an "
            "epoch); start it again instead."
        )
    saved = (load_checkpoint(last).get("hyper_parameters") or {}).get("run_config")
    if not saved:
        raise DataError(f"{last} holds no run_config; it was not written by train.py.")
    resumed = OmegaConf.create(saved)
    for key in command_overrides(cfg):
        OmegaConf.update(resumed, key, OmegaConf.select(cfg, key), force_add=True)
    resumed.resume = str(folder)
    resumed.ckpt_path = str(last)
    resumed.paths.run_dir = str(folder)
    config_file = folder / ".hydra" / "config.yaml"  # Hydra rewrote it with this command's
    if config_file.parent.is_dir():
        with atomic_path(config_file) as tmp:
            tmp.write_text(OmegaConf.to_yaml(resumed))
    log.info("resuming %s from %s", folder, last)
    return resumed
