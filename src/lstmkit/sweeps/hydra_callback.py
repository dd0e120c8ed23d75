"""Hydra callback: write the sweep summary when a multirun ends (set in conf/train.yaml)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """After every multirun, summary.csv/.md/.png land in the sweep folder and the table prints."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from lstmkit.sweeps.summary import write_summary

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            _, text = write_summary(sweep_dir)
        except Exception as e:  # a summary problem must not hide the jobs' own results
            log.warning("could not summarise %s: %s", sweep_dir, e)
            return
        print(f"\nsweep summary ({sweep_dir}/summary.csv, summary.png):\n{text}", flush=True)
