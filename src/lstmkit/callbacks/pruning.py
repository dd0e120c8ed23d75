"""Report each epoch's validation metric to the Optuna trial this job runs, and prune hopeless ones.

The sweeper (hydra_plugins.lstmkit_optuna_sweeper) launches trial N as job N, so a job finds
its trial from the study storage named in the sweeper config. That works in-process, in
joblib / submitit workers and with several sweep processes on one study alike, since the trial
lives in the storage (SQLite, journal file, a database server), not in memory.
"""

from __future__ import annotations

import logging
import math

import lightning as L
import optuna
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate

from lstmkit.sweeps.jobs import in_multirun
from lstmkit.sweeps.storage import load_study, storage_url

log = logging.getLogger(__name__)


class TrialPruned(optuna.TrialPruned):
    """Raised to stop a pruned job; train.py records the job with status `pruned`."""

    job_status = "pruned"


def current_trial() -> optuna.Trial | None:
    """This job's trial, or None when the job is not part of an Optuna sweep of ours."""
    if not in_multirun():
        return None
    hc = HydraConfig.get()
    sweeper = hc.sweeper
    if "study_name" not in sweeper or "pruner" not in sweeper:
        return None
    url = storage_url(sweeper.get("storage"), hc.sweep.dir)
    pruner = instantiate(sweeper.pruner) if sweeper.pruner else optuna.pruners.NopPruner()
    study = load_study(url, sweeper.study_name, pruner=pruner)
    storage = study._storage  # Trial() needs the trial id; the study knows its storage
    study_id = storage.get_study_id_from_name(sweeper.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, int(hc.job.num))
    return optuna.trial.Trial(study, trial_id)


class OptunaPruning(L.Callback):
    """Per-epoch `trial.report(val metric)`; raise TrialPruned when the pruner says so."""

    def __init__(self, monitor: str) -> None:
        self.monitor = monitor
        self.trial: optuna.Trial | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and self.trial is None and trainer.is_global_zero:
            self.trial = current_trial()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.trial is None or trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None or math.isnan(float(value)):
            return
        epoch = trainer.current_epoch
        self.trial.report(float(value), step=epoch)
        if self.trial.should_prune():
            # told here, in the job, so the sweeper sees PRUNED rather than a failure
            self.trial.study.tell(self.trial.number, state=optuna.trial.TrialState.PRUNED)
            raise TrialPruned(f"pruned at epoch {epoch}: {self.monitor}={float(value):.4f}")
