"""`hydra/sweeper=lstmkit_optuna`: the sweeper's settings and their defaults."""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class LstmkitOptunaSweeperConf:
    _target_: str = "hydra_plugins.lstmkit_optuna_sweeper.sweeper.LstmkitOptunaSweeper"
    direction: str = "maximize"  # maximize | minimize (also max | min)
    study_name: str = "lstmkit"
    # default: sqlite:///<sweep dir>/optuna.db, so a sweep resumes; `journal` (a journal file in
    # the sweep dir), journal:<file> (shared file systems) or any Optuna RDB URL: processes
    # started with the same storage and study_name share one study (docs/distributed.md)
    storage: Any = None
    n_trials: int = 20  # total for the study, trials of earlier (resumed) runs included
    n_jobs: int = 1  # trials launched at once (parallel with hydra/launcher=joblib)
    seed: int = 42  # TPE seed; trial N samples with seed + N (no replay on resume or in parallel)
    n_startup_trials: int = 5  # random trials before TPE models the results
    # pruning runs inside each job from the per-epoch val metric (lstmkit.callbacks.pruning)
    pruner: Any = field(
        default_factory=lambda: {
            "_target_": "optuna.pruners.MedianPruner",
            "n_startup_trials": 2,
            "n_warmup_steps": 1,
        }
    )
    # search space in Hydra's override syntax: choice(...), interval(a,b), tag(log, interval(a,b)),
    # range(a,b); a plain value fixes the key for every trial
    params: dict[str, str] = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/sweeper", name="lstmkit_optuna", node=LstmkitOptunaSweeperConf, provider="lstmkit"
)
