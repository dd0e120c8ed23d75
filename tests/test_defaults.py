"""One source of defaults: the YAML. A class default that disagrees with its config is a bug.

Tuned values live in `conf/`; Python defaults only serve code that builds an object by hand
(tests, notebooks), and must say the same thing. Configs that derive from another option of
their group (`bbc_news` from `text_csv`, `gru` from `lstm`) set dataset-specific values on
purpose, so only the options that stand alone are compared.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
import yaml
from helpers import ROOT
from hydra import compose, initialize_config_dir
from hydra.utils import get_class
from omegaconf import OmegaConf

from hydra_plugins.lstmkit_optuna_sweeper.config import LstmkitOptunaSweeperConf
from lstmkit.data.tokenization import TokenizerConfig

CONF = ROOT / "conf"


def standalone(group: str) -> list[str]:
    """Options of `group` whose defaults list names no sibling option."""
    names = sorted(p.stem for p in (CONF / group).glob("*.yaml"))
    keep = []
    for name in names:
        defaults = (yaml.safe_load((CONF / group / f"{name}.yaml").read_text()) or {}).get(
            "defaults", []
        )
        if not any(isinstance(d, str) and d in names for d in defaults):
            keep.append(name)
    return keep


def signature_defaults(cls: type) -> dict[str, Any]:
    """Defaults of `cls(...)`, through `**kwargs` passed on to base classes."""
    found: dict[str, Any] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        for name, param in inspect.signature(klass.__init__).parameters.items():
            if param.default is not inspect.Parameter.empty:
                found.setdefault(name, param.default)
    return found


def compose_node(overrides: list[str], key: str) -> dict[str, Any]:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    return OmegaConf.to_container(OmegaConf.select(cfg, key), resolve=False)


def disagreements(config: dict[str, Any], defaults: dict[str, Any]) -> dict[str, tuple]:
    """Keys whose YAML value differs from the Python default (interpolations aside)."""

    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    return {
        key: (value, defaults[key])
        for key, value in config.items()
        if key in defaults and value != "???" and not str(value).startswith("${")
        if value != plain(defaults[key]) and not isinstance(value, dict)
    }


@pytest.mark.parametrize(
    "group,option", [(g, o) for g in ("data", "model", "task") for o in standalone(g)]
)
def test_class_defaults_match_the_config(group, option):
    node = compose_node([f"{group}={option}"], group)
    target = get_class(node["_target_"])
    assert disagreements(node, signature_defaults(target)) == {}, (
        f"conf/{group}/{option}.yaml and {node['_target_']} disagree: (yaml, python)"
    )
    if "tokenizer" in node:
        fields = {f.name: f.default for f in dataclasses.fields(TokenizerConfig)}
        assert disagreements(node["tokenizer"], fields) == {}


def test_sweeper_defaults_match_the_optuna_search_config():
    node = compose_node(["hparams_search=optuna"], "hydra.sweeper")
    fields = {
        f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
        for f in dataclasses.fields(LstmkitOptunaSweeperConf)
    }
    searched = {k: v for k, v in node.items() if k not in ("params", "direction")}
    assert disagreements(searched, fields) == {}
    assert node["pruner"] == fields["pruner"]
