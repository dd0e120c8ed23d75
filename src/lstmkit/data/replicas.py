"""Where a process stands under DDP: the loaders shard their data by it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Replicas:
    """World size and rank (1 and 0 without DDP), and the epoch a loader starts at."""

    world_size: int = 1
    rank: int = 0
    epoch: int = 0

    @classmethod
    def of(cls, trainer: Any) -> Replicas:  # a Lightning Trainer, or None
        """Read them from a Lightning trainer (a single process when there is none)."""
        if trainer is None:
            return cls()
        return cls(trainer.world_size, trainer.global_rank, trainer.current_epoch)
