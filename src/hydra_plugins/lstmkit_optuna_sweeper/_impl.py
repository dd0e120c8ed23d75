"""Optuna search loop: ask -> launch jobs via Hydra's launcher -> tell; resumable from SQLite.

Several sweep processes (on one machine or many) may share one study: each asks the study
for its next trials, so trial numbers, and with them job folders, never collide.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from lstmkit.atomic import atomic_path
from lstmkit.sweeps.naming import override_value
from lstmkit.sweeps.storage import (
    create_or_load_study,
    storage_url,
    study_lock,
    worker_alive,
    worker_id,
)

log = logging.getLogger(__name__)

DIRECTIONS = {"max": "maximize", "maximize": "maximize", "min": "minimize", "minimize": "minimize"}


def distribution(override: Override) -> BaseDistribution:
    """Hydra sweep syntax -> Optuna distribution (tags: `log`, `int`)."""
    sweep = override.value()
    if isinstance(sweep, ChoiceSweep):
        return CategoricalDistribution(
            [
                v if isinstance(v, (bool, int, float, str)) or v is None else str(v)
                for v in override.sweep_iterator()
            ]
        )
    if isinstance(sweep, RangeSweep):
        values: list[Any] = list(override.sweep_iterator())  # a range yields numbers
        if all(isinstance(v, int) for v in values) and len(values) > 1:
            return IntDistribution(values[0], values[-1], step=values[1] - values[0])
        return CategoricalDistribution(values)
    if isinstance(sweep, IntervalSweep):
        log_scale = "log" in sweep.tags
        assert sweep.start is not None and sweep.end is not None  # the parser sets both
        if "int" in sweep.tags or (isinstance(sweep.start, int) and isinstance(sweep.end, int)):
            return IntDistribution(int(sweep.start), int(sweep.end), log=log_scale)
        return FloatDistribution(float(sweep.start), float(sweep.end), log=log_scale)
    raise ValueError(f"{override.input_line}: Optuna cannot search a {type(sweep).__name__}")


class OptunaSearch:
    """The sweeper's state: settings, the study, and the launcher Hydra configured."""

    def __init__(
        self,
        direction: str = "maximize",
        study_name: str = "lstmkit",
        storage: str | None = None,
        n_trials: int = 20,
        n_jobs: int = 1,
        seed: int = 42,
        n_startup_trials: int = 10,
        pruner: Any = None,
        params: dict[str, str] | None = None,
    ) -> None:
        if str(direction) not in DIRECTIONS:
            raise ValueError(f"hydra.sweeper.direction must be max or min, got {direction!r}")
        self.direction = DIRECTIONS[str(direction)]
        self.study_name, self.storage = study_name, storage
        self.n_trials, self.n_jobs = int(n_trials), max(1, int(n_jobs))
        self.seed, self.n_startup_trials = int(seed), int(n_startup_trials)
        self.pruner = pruner or optuna.pruners.NopPruner()
        self.params = {str(k): str(v) for k, v in (params or {}).items()}

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def search_space(self, arguments: list[str]) -> tuple[dict[str, BaseDistribution], list[str]]:
        """Config params, then command-line arguments (which win): sweeps and fixed overrides."""
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        lines = [f"{k}={v}" for k, v in self.params.items()] + list(arguments)
        space: dict[str, BaseDistribution] = {}
        fixed: dict[str, str] = {}
        for override in parser.parse_overrides(lines):
            key = override.get_key_element()
            space.pop(key, None)
            fixed.pop(key, None)
            if override.is_sweep_override():
                space[key] = distribution(override)
            else:
                assert override.input_line is not None  # set for every parsed line
                fixed[key] = override.input_line
        return space, list(fixed.values())

    def open_study(self, sweep_dir: Path) -> optuna.Study:
        """Create or join the study; trials a killed sweep process left RUNNING are marked FAIL.

        Another live process's running trials are left alone: the study may be shared.
        """
        self.url = storage_url(self.storage, str(sweep_dir))
        with study_lock(self.url):
            study = create_or_load_study(
                self.url, self.study_name, direction=self.direction, pruner=self.pruner
            )
            for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                worker = trial.user_attrs.get("worker")
                if worker_alive(worker) is False:
                    study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
                    log.info("trial %d of a stopped sweep (%s) marked FAIL", trial.number, worker)
        log.info(
            "optuna study %r in %s: %d trials so far, %d requested in total",
            self.study_name,
            self.url,
            len(study.trials),
            self.n_trials,
        )
        return study

    def ask(self, study: optuna.Study, space: dict[str, BaseDistribution]) -> list[optuna.Trial]:
        """This process's next trials (at most n_jobs), none once the study has n_trials.

        Under the study lock, so two processes never both take the last trial; the sampler is
        seeded by trial number, so processes started together do not draw the same values
        and a resumed search does not replay the first random trials.
        """
        trials = []
        with study_lock(self.url):
            made = len(study.trials)
            for number in range(made, min(made + self.n_jobs, self.n_trials)):
                study.sampler = optuna.samplers.TPESampler(
                    seed=self.seed + number, n_startup_trials=self.n_startup_trials
                )
                trial = study.ask(space)
                trial.set_user_attr("worker", worker_id())
                trials.append(trial)
        return trials

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        space, fixed = self.search_space(arguments)
        if not space:
            raise ValueError("nothing to search: set hydra.sweeper.params or pass choice(...)")
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(sweep_dir / "multirun.yaml") as tmp:  # processes sharing the folder
            OmegaConf.save(self.config, tmp)
        study = self.open_study(sweep_dir)
        returns: list[JobReturn] = []
        while trials := self.ask(study, space):
            batch = [fixed + [f"{k}={override_value(t.params[k])}" for k in space] for t in trials]
            self.job_folders(batch, trials)
            for start, size in self.consecutive(trials):
                # job number == trial number: the job finds its trial (pruning) and folder by it
                results = self.launcher.launch(
                    batch[start : start + size], initial_job_idx=trials[start].number
                )
                for trial, result in zip(trials[start : start + size], results, strict=True):
                    self.tell(study, trial, result)
                returns.extend(results)
        self.log_best(study)
        return returns

    def job_folders(self, batch: list[list[str]], trials: list[optuna.Trial]) -> None:
        """Compose each job's config (a search space that does not compose fails here, early)
        and record on its trial the folder the job will write: a summary built from the study
        finds every job, whichever process or machine ran it."""
        for overrides, trial in zip(batch, trials, strict=True):
            config = self.hydra_context.config_loader.load_sweep_config(
                master_config=self.config, sweep_overrides=list(overrides)
            )
            with open_dict(config):
                config.hydra.job.num = trial.number
            folder = Path(str(self.config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
            trial.set_user_attr("folder", str(folder.resolve()))

    @staticmethod
    def consecutive(trials: list[optuna.Trial]) -> list[tuple[int, int]]:
        """Runs of consecutive trial numbers, each launched as one batch."""
        runs: list[tuple[int, int]] = []
        for i, trial in enumerate(trials):
            if runs and trials[i - 1].number + 1 == trial.number:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((i, 1))
        return runs

    def tell(self, study: optuna.Study, trial: optuna.Trial, result: JobReturn) -> None:
        """Finished value -> COMPLETE; exception, NaN or None -> FAIL (the search goes on)."""
        value: Any = None
        if result.status == JobStatus.COMPLETED:
            value = result.return_value
        # a pruned job has told PRUNED itself
        state = study.get_trials(deepcopy=False)[trial.number].state
        if result.status != JobStatus.COMPLETED and not state.is_finished():
            error = result._return_value  # the job's exception; .return_value would re-raise
            trial.set_user_attr("error", f"{type(error).__name__}: {error}"[:500])
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        if not state.is_finished():
            if ok:
                study.tell(trial, float(value))
            else:
                study.tell(trial, state=TrialState.FAIL)
            state = study.get_trials(deepcopy=False)[trial.number].state
        log.info("trial %d %s: %s -> %s", trial.number, state.name, trial.params, value)

    def log_best(self, study: optuna.Study) -> None:
        done = [t for t in study.trials if t.state == TrialState.COMPLETE]
        if done:
            best = study.best_trial
            log.info("best trial %d: value %.4f, params %s", best.number, best.value, best.params)
        else:
            log.warning("no trial completed")
