"""Train a model: `python train.py model=lstm` (see conf/train.yaml for every option)."""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from lstmkit.errors import UserError
from lstmkit.pipeline import train

log = logging.getLogger("train")


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the objective so sweepers can optimise it."""
    try:
        report = train(cfg)
    except UserError as e:
        log.error("%s", e)
        sys.exit(e.exit_code)
    return report["best_score"]


if __name__ == "__main__":
    main()
