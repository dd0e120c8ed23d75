"""Fault injection for subprocess tests: a real SIGKILL in the middle of an epoch."""

from __future__ import annotations

import os
import signal

import lightning as L

ENV = "LSTMKIT_TEST_KILL_AT_STEP"


class KillAtStep(L.Callback):
    """SIGKILL this process once `global_step` reaches $LSTMKIT_TEST_KILL_AT_STEP (if set).

    Read from the environment, not the config, so the resumed run (same saved config,
    variable unset) trains on undisturbed.
    """

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = os.environ.get(ENV)
        if step and trainer.global_step >= int(step):
            os.kill(os.getpid(), signal.SIGKILL)
