"""Hydra callback: write the sweep summary when a multirun ends (set in conf/train.yaml)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """After every multirun, summary.csv/.md/.png land in the sweep folder and the table prints;
    after an Optuna sweep, Optuna's own views too (optuna_*.png).

    A sweep where no job finished exits 1 after writing its summary, so CI and job arrays
    see the failure (Hydra itself exits 0 whatever its jobs did); not while trials of other
    processes sharing the study still run (one of those may yet finish).
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from lstmkit.sweeps.optuna_views import write_sweep_views
        from lstmkit.sweeps.study_summary import write_sweep_summary

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            table, text = write_sweep_summary(sweep_dir)
        except Exception as e:  # a summary problem must not hide the jobs' own results
            log.warning("could not summarise %s: %s", sweep_dir, e)
            return
        print(f"\nsweep summary ({sweep_dir}/summary.csv, summary.png):\n{text}", flush=True)
        try:
            views = write_sweep_views(sweep_dir)
        except Exception as e:  # e.g. a study storage that is gone: the table still stands
            log.warning("could not draw the optuna views of %s: %s", sweep_dir, e)
            views = []
        if views:
            print("optuna views: " + ", ".join(str(v) for v in views), flush=True)
        running = int(table["status"].eq("running").sum())
        if running:  # a study shared with other sweep processes, still at work
            print(f"{running} trials still running in other sweep processes", flush=True)
        elif not table["status"].eq("ok").any():
            print(
                f"error: no job of the sweep finished ({len(table)} jobs); "
                f"see the error column of {sweep_dir / 'summary.md'}",
                file=sys.stderr,
                flush=True,
            )
            sys.exit(1)  # SystemExit passes Hydra's callback guard (it catches Exception)
