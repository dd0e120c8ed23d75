"""The run's resolved config, held where callbacks can read it (never in the LightningModule).

Tasks take only task arguments; callbacks that report the run's settings (TensorBoard
HParams) find the config here. The run folder's `config.json` is its saved copy.
"""

from __future__ import annotations

from typing import Any

import lightning as L


class RunConfig(L.Callback):
    """Carries `config` (plain containers) for the other callbacks of this Trainer."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config


def run_config(trainer: L.Trainer) -> dict[str, Any] | None:
    """The config a `RunConfig` callback carries, or None when the Trainer has none."""
    # Trainer.callbacks is set in __init__ by a connector, not declared on the class
    callbacks: list[L.Callback] = trainer.callbacks  # type: ignore[attr-defined]
    found = [cb.config for cb in callbacks if isinstance(cb, RunConfig)]
    return found[0] if found else None
