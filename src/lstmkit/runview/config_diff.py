"""What a run changed: its saved config against the defaults for the same config-group choices."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from omegaconf import DictConfig, ListConfig, OmegaConf

MISSING = "<absent>"


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """`{"model": {"hidden_size": 16}}` -> `{"model.hidden_size": 16}`; lists stay values."""
    if not isinstance(node, dict) or not node:
        return {prefix: node} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def plain(cfg: DictConfig | ListConfig) -> dict[str, Any]:
    """Plain values, interpolations kept as written (`${task.monitor}`), nothing resolved."""
    return flatten(OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False))


def group_choices(run_dir: Path) -> dict[str, str]:
    """The run's config-group choices (`data: airline`, `task: forecasting`), Hydra's own aside."""
    choices = OmegaConf.select(
        OmegaConf.load(run_dir / ".hydra" / "hydra.yaml"), "hydra.runtime.choices", default={}
    )
    return {
        str(group): str(choice)
        for group, choice in cast(
            dict[str, Any], OmegaConf.to_container(choices, resolve=False)
        ).items()
        if choice is not None and not str(group).startswith("hydra/")
    }


def default_config(choices: dict[str, str], conf_dir: Path) -> DictConfig:
    """The project's `train` config composed with these group choices and nothing else."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir.resolve()), version_base="1.3"):
        return compose("train", overrides=[f"{g}={c}" for g, c in sorted(choices.items())])


def config_diff(run_dir: str | Path, conf_dir: str | Path) -> list[tuple[str, Any, Any]]:
    """`(key, default, run value)` for every key whose value differs, sorted by key."""
    run_dir = Path(run_dir)
    ran = plain(OmegaConf.load(run_dir / ".hydra" / "config.yaml"))
    default = plain(default_config(group_choices(run_dir), Path(conf_dir)))
    return [
        (key, default.get(key, MISSING), ran.get(key, MISSING))
        for key in sorted(ran.keys() | default.keys())
        if default.get(key, MISSING) != ran.get(key, MISSING)
    ]
