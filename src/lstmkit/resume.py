"""Continue an interrupted run in its own folder: `python train.py resume=<run dir>`.

The run folder is data. `preflight` (before Hydra starts, so a refusal creates and rewrites
nothing) turns the run's saved config-group choices into overrides, so the run is composed
again from lstmkit's own conf/; `prepare_resume` then takes the saved *values* from
`config.json`, refusing any `_target_` that differs from our conf/, and re-derives every
path from the folder being resumed (a copied or moved run writes into itself). Plain
`key=value` overrides on the resume command line (e.g. `trainer.max_epochs=20`) apply on
top; ones that change the data, the model or the task are refused, as is a change of the
data file found after reading it. Lightning restores counters, optimizer, scheduler, early
stopping and checkpoint state from `last.ckpt`; TensorBoard curves continue.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from lstmkit.atomic import atomic_path
from lstmkit.errors import ConfigError, DataError
from lstmkit.inference.run import load_checkpoint
from lstmkit.models.spec import ModelSpec
from lstmkit.run_config import KEY, read_record, restore_values, save_config

log = logging.getLogger(__name__)
FROZEN = ("data", "model", "task")  # a resume that changes these is a new run
FREE = ("data.num_workers",)


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def resume_requested(cfg: DictConfig) -> bool:
    return "resume" in cfg and not OmegaConf.is_missing(cfg, "resume") and bool(cfg.resume)


def top_groups(conf_dir: Path) -> dict[str, Any]:
    """The config groups of conf/train.yaml's defaults list and their default choices."""
    defaults = yaml.safe_load((conf_dir / "train.yaml").read_text())["defaults"]
    return {k: v for d in defaults if isinstance(d, dict) for k, v in d.items()}


def preflight(argv: list[str], conf_dir: Path) -> list[str]:
    """Check a `resume=` command before Hydra creates or writes anything; add its overrides.

    Refuses a missing folder, a group change (`model=gru`) and a sweep; a DDP rank that
    Lightning relaunches gets the command its rank 0 already checked.
    """
    values = [a.split("=", 1)[1] for a in argv if a.startswith("resume=")]
    if not values or os.environ.get("LOCAL_RANK", "0") != "0":
        return argv
    if any(a in ("-m", "--multirun") for a in argv):
        raise ConfigError("resume= continues one run; it cannot be part of a sweep (-m).")
    folder = Path(values[-1])
    if not folder.is_dir():
        raise ConfigError(f"resume={folder}: no such run folder (nothing was created).")
    groups = top_groups(conf_dir)
    for arg in argv:
        key = _key(arg)
        if key in groups or key == "task":
            raise ConfigError(
                f"{arg}: a resumed run keeps its own {key!r} config group. "
                "Start a new run to change it."
            )
    extra, saved = [], read_record(folder)["choices"]
    for group, default in groups.items():
        choice = saved.get(group, default)
        if choice == default:
            continue
        known = choice is None or (
            KEY.fullmatch(choice) and (conf_dir / group / f"{choice}.yaml").is_file()
        )
        if not known:
            raise DataError(
                f"{folder}/config.json: {group}={choice!r} is not a config of lstmkit's conf/."
            )
        extra.append(f"{group}={'null' if choice is None else choice}")
    return [*argv, *extra, f'hydra.run.dir="{folder}"', "hydra.output_subdir=null"]


@dataclass
class Resume:
    """A checked resume: the config to run with and what the folder says about itself."""

    folder: Path
    config: DictConfig
    saved: dict[str, Any]  # config.json's values as read
    choices: dict[str, Any]  # config.json's group choices
    model: ModelSpec  # model.json
    overrides: list[str]  # this command's own key=value overrides
    complete: dict[str, Any] | None  # the finished run's metrics.json, when nothing is left

    @property
    def last(self) -> Path:
        return self.folder / "checkpoints" / "last.ckpt"


def command_overrides() -> list[str]:
    """This command's own `key=value` overrides (not groups, not hydra.*, not resume)."""
    if not HydraConfig.initialized():
        return []
    hc = HydraConfig.get()
    keep = []
    for override in hc.overrides.task:
        key = _key(override)
        if key != "resume" and not key.startswith("hydra") and key not in hc.runtime.choices:
            keep.append(override)
    return keep


def prepare_resume(cfg: DictConfig) -> Resume | None:
    """Everything that can refuse a resume without reading the data; writes nothing."""
    if not resume_requested(cfg):
        return None
    folder = Path(cfg.resume)
    if not folder.is_dir():
        raise ConfigError(f"resume={folder}: no such run folder.")
    record = read_record(folder)
    model = ModelSpec.load(folder)
    last = folder / "checkpoints" / "last.ckpt"
    if not last.is_file():
        raise DataError(
            f"resume={folder}: no checkpoints/last.ckpt (the run never finished an "
            "epoch); start it again instead."
        )
    load_checkpoint(last)  # weights only; a truncated file is refused here
    override_history(folder)  # appended to on success: checked now, while nothing is written
    saved = record["config"]
    overrides = command_overrides()
    old_dir = str((saved.get("paths") or {}).get("run_dir") or "")
    restore_values(cfg, saved, "", [_key(o) for o in overrides], old_dir)
    with open_dict(cfg):
        cfg.resume, cfg.ckpt_path = str(folder), str(last)
    changed = [
        _key(o)
        for o in overrides
        if _key(o).split(".")[0] in FROZEN
        and _key(o) not in FREE
        and _select(saved, _key(o)) != OmegaConf.select(cfg, _key(o))
    ]
    if changed:
        raise ConfigError(
            f"resume={folder}: {', '.join(changed)} would change the run's data, model or "
            "task; a resume continues the same run. Start a new run instead."
        )
    complete = _complete(folder, saved, cfg)
    return Resume(folder, cfg, saved, record["choices"], model, overrides, complete)


def _select(tree: Any, key: str) -> Any:
    for part in key.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def _complete(folder: Path, saved: dict[str, Any], cfg: DictConfig) -> dict[str, Any] | None:
    """The run's final report when it finished and this resume asks for no more epochs."""
    try:
        report = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or report.get("status") != "ok":
        return None
    # metrics.json is written once, at the end of a run; config.json may already hold this
    # resume's values when another DDP rank recorded them first, so it is only the fallback
    before = report.get("max_epochs", _select(saved, "trainer.max_epochs"))
    wanted = OmegaConf.select(cfg, "trainer.max_epochs")
    more = isinstance(before, int) and isinstance(wanted, int) and (wanted > before or wanted < 0)
    return None if more else report


def check_same_run(resume: Resume, datamodule: Any, model: ModelSpec) -> None:
    """Refuse when the data now read or the network now built differ from the run's own."""
    if model != resume.model:
        diff = {
            k: (resume.model.params.get(k), model.params.get(k))
            for k in sorted(set(model.params) | set(resume.model.params))
            if model.params.get(k) != resume.model.params.get(k)
        }
        raise ConfigError(
            f"resume={resume.folder}: the network would differ from model.json "
            f"(saved vs now: {diff}); start a new run."
        )
    saved = resume.folder / "preprocessor"
    with tempfile.TemporaryDirectory() as tmp:
        datamodule.save_preprocessor(Path(tmp))
        for fresh in sorted(Path(tmp).iterdir()):
            if _contents(fresh) != _contents(saved / fresh.name):
                raise DataError(
                    f"resume={resume.folder}: the data changed since the run started "
                    f"(preprocessor/{fresh.name} differs; data.path="
                    f"{OmegaConf.select(resume.config, 'data.path')}). A resume must read "
                    "the same data; start a new run."
                )


def _contents(path: Path) -> Any:
    if not path.is_file():
        return None
    if path.suffix == ".json":
        try:
            return json.loads(path.read_text())
        except ValueError:
            return None
    return path.read_bytes()


def record_resume(resume: Resume) -> None:
    """After every check passed: the effective config, and this command added to the history."""
    save_config(resume.folder, resume.config, choices=resume.choices)
    history = resume.folder / ".hydra" / "overrides.yaml"
    if history.is_file() and resume.overrides:
        with atomic_path(history) as tmp:
            tmp.write_text(yaml.safe_dump([*override_history(resume.folder), *resume.overrides]))
    log.info("resuming %s from %s", resume.folder, resume.last)


def override_history(folder: Path) -> list[str]:
    """`.hydra/overrides.yaml`: a list of strings (read with the safe YAML loader only)."""
    path = folder / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        history = yaml.safe_load(path.read_text()) or []
    except yaml.YAMLError as e:
        raise DataError(f"{path}: not valid YAML ({e}).") from None
    if not isinstance(history, list) or not all(isinstance(o, str) for o in history):
        raise DataError(f"{path}: expected a list of overrides (strings).")
    return history


def objective_of(report: dict[str, Any]) -> float:
    """The objective value a finished run's metrics.json recorded (NaN when it has none)."""
    value = (report.get("objective") or {}).get("value")
    return float(value) if isinstance(value, (int, float)) else math.nan
