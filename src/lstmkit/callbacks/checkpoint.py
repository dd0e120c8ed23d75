"""Checkpoints that are never half written, and that follow their run folder when it moves.

Lightning writes `last.ckpt` in place: a full disk leaves a truncated file where the previous
good one was, and the run can no longer resume. Here each checkpoint is written beside its
target and renamed over it, so the old file survives any failed write. A run folder that was
copied or moved keeps its best/last bookkeeping: paths saved under the old folder are read as
the same files in the folder being resumed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class AtomicCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` with write-then-rename saves and relocatable saved paths."""

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        target = Path(filepath)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            super()._save_checkpoint(trainer, str(tmp))
            if trainer.is_global_zero:  # only rank 0 writes the file
                os.replace(tmp, target)
        finally:
            if trainer.is_global_zero:
                tmp.unlink(missing_ok=True)
        self._last_checkpoint_saved = filepath

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        old = state_dict.get("dirpath")
        if old and self.dirpath and old != self.dirpath:
            state_dict = relocate(state_dict, str(old), str(self.dirpath))
        super().load_state_dict(state_dict)


def relocate(state: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """`state` with every path under `old` moved under `new` (keys of best_k_models too)."""

    def move(value: Any) -> Any:
        if isinstance(value, str) and (value == old or value.startswith(old + os.sep)):
            return new + value[len(old) :]
        if isinstance(value, dict):
            return {move(k): move(v) for k, v in value.items()}
        return value

    return {k: move(v) for k, v in state.items()}
