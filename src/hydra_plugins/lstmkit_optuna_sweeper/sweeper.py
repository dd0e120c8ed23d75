"""The Sweeper class Hydra instantiates; the Optuna work lives in `_impl` (imported lazily)."""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class LstmkitOptunaSweeper(Sweeper):
    """Optuna (>= 4) search through Hydra's launcher: `train.py -m hparams_search=optuna`."""

    def __init__(self, **settings: Any) -> None:
        from hydra_plugins.lstmkit_optuna_sweeper._impl import OptunaSearch

        self.search = OptunaSearch(**settings)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        return self.search.sweep(arguments)
