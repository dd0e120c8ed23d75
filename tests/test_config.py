"""Every option of every config group composes, and what it names can be instantiated."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import ROOT
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

CONF = ROOT / "conf"
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir())


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def group_options() -> list[tuple[str, str]]:
    return [(g, o) for g in GROUPS for o in options(g)]


def compose_cfg(overrides: list[str], tmp_path: Path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.run_dir = str(tmp_path / "run")
    return cfg


@pytest.mark.parametrize("group,option", group_options())
def test_every_group_option_composes(group, option, tmp_path, text_csv):
    overrides = [f"{group}={option}", f"data.path={text_csv}"]
    if group == "data":
        overrides = [f"data={option}"]
        if option in ("text_csv", "timeseries_csv", "sequence_csv"):  # not read on init
            overrides.append(f"data.path={text_csv}")
    cfg = compose_cfg(overrides, tmp_path)
    assert cfg.hydra.runtime.choices[group] == option
    node = OmegaConf.select(cfg, group)  # None for groups in the global package (debug, ...)
    if group == "model" and node._target_.endswith("RecurrentClassifier"):
        net = instantiate(node, num_classes=3, vocab_size=20)
        logits = net(torch.randint(1, 20, (2, 7)), torch.tensor([7, 3]))
        assert logits.shape == (2, 3)
    elif group == "model" and node._target_.endswith("Seq2SeqForecaster"):
        net = instantiate(node, input_size=2, horizon=3, num_targets=1)
        assert net(torch.randn(2, 5, 2), torch.tensor([5, 3])).shape == (2, 3, 1)
    elif group == "optimizer":
        opt = instantiate(node)([torch.nn.Parameter(torch.zeros(1))])
        assert isinstance(opt, torch.optim.Optimizer)
    elif group == "scheduler":
        sched = instantiate(node)
        assert set(sched) >= {"fn"}
    elif group in ("callbacks",):
        assert all(instantiate(c) is not None for c in node.values())
    elif group == "logger":
        assert instantiate(node).log_dir.startswith(str(tmp_path))
    elif group == "trainer":
        assert node._target_ == "lightning.Trainer"
    elif group == "data":
        dm = instantiate(node)
        assert dm.batch_size == cfg.data.batch_size
        assert cfg.task._target_.endswith("Task")


@pytest.mark.parametrize("model", [m for m in options("model") if m != "seq2seq"])  # no pooling
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_model_options_forward(model, pooling, tmp_path, text_csv):
    cfg = compose_cfg(
        [f"model={model}", f"model.pooling={pooling}", "model.num_layers=2"], tmp_path
    )
    if cfg.model._target_.endswith("RecurrentClassifier"):
        net = instantiate(cfg.model, num_classes=4, vocab_size=30)
        assert net(torch.randint(1, 30, (3, 5)), torch.tensor([5, 2, 1])).shape == (3, 4)
