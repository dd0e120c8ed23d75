"""`runtime.threads=auto`: measure 1 against N threads while training and keep the faster.

On 2 shared cores no fixed thread count wins: 2 threads were 1.75x faster than 1 on an idle
machine and 2.2x slower beside one busy neighbour process. So the first steps are timed at
each candidate (interleaved rounds, a warm-up step after each switch discarded; a candidate
1.5x slower than another is dropped at once), the fastest per padded token is kept, and the
candidates are timed again when the step time drifts from its level after the choice (a
neighbour started or stopped) or after `recheck_every` steps (doubled after each recheck that
changes nothing).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from typing import Any

import lightning as L
import torch

from lstmkit.runtime import available_cpus, resolve_threads

log = logging.getLogger(__name__)


def default_candidates() -> list[int]:
    """1 thread, every usable core, and the starting guess of `resolve_threads('auto')`."""
    return sorted({1, resolve_threads("auto"), available_cpus()})


def batch_units(batch: Any) -> int:
    """Padded time steps in a batch (B x T): LSTM work grows with it, so steps compare fairly."""
    inputs = batch.get("inputs") if isinstance(batch, dict) else None
    if isinstance(inputs, torch.Tensor) and inputs.dim() >= 2:
        return int(inputs.shape[0] * inputs.shape[1])
    return 1


class AdaptiveThreads(L.Callback):
    """Pick torch's intra-op thread count by timing training steps; log every switch.

    `events` records each decision (step, reason, seconds per unit for each candidate, the
    threads kept), so a run report or a test can say what happened and why.
    """

    def __init__(
        self,
        candidates: list[int] | None = None,
        probe_steps: int = 3,
        rounds: int = 2,
        drift: float = 0.3,
        window: int = 16,
        recheck_every: int = 200,
        give_up: float = 1.5,
    ) -> None:
        self.candidates = sorted(set(candidates or default_candidates()))
        self.probe_steps, self.rounds = probe_steps, rounds
        self.drift, self.window, self.recheck_every = drift, window, recheck_every
        self.give_up = give_up
        self._recheck = recheck_every
        self.events: list[dict[str, Any]] = []
        self.threads = torch.get_num_threads()
        self._plan: list[tuple[int, bool]] = []
        self._samples: dict[int, list[float]] = {}
        self._recent: deque[float] = deque(maxlen=window)
        self._reference: float | None = None
        self._since_choice = 0
        self._start = 0.0
        self._step = 0
        self.enabled = len(self.candidates) > 1

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size > 1:  # several processes share the cores: keep the fixed start
            self.enabled = False
        if self.enabled:
            self._probe("start")

    def _probe(self, reason: str) -> None:
        self._reason = reason
        self._samples = {c: [] for c in self.candidates}
        order = sorted(self.candidates, key=lambda c: c != self.threads)  # current one first
        self._plan = []
        for _ in range(self.rounds):
            for c in order:
                switched = not self._plan or self._plan[-1][0] != c
                if switched and (self._plan or c != self.threads):
                    self._plan.append((c, False))  # the first step after a switch is not timed
                self._plan += [(c, True)] * self.probe_steps
        log.info("threads: timing %s at step %d (%s)", self.candidates, self._step, reason)

    def _set(self, threads: int) -> None:
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.enabled and self._plan:
            self._set(self._plan[0][0])
        self._start = time.perf_counter()

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._step += 1
        if not self.enabled:
            return
        cost = (time.perf_counter() - self._start) / batch_units(batch)
        if self._plan:
            threads, measured = self._plan.pop(0)
            if measured:
                self._samples[threads].append(cost)
            self._drop_if_losing(threads, cost)
            if not self._plan:
                self._choose()
            return
        self._since_choice += 1
        self._recent.append(cost)
        if len(self._recent) < self.window:
            return
        level = statistics.median(self._recent)
        if self._reference is None:
            self._reference = level
        elif abs(level / self._reference - 1) > self.drift:
            self._probe(f"step time {level / self._reference:.2f}x its level after the choice")
        elif self._since_choice >= self._recheck:
            self._probe(f"recheck after {self._since_choice} steps")

    def _drop_if_losing(self, threads: int, cost: float) -> None:
        """Stop timing a candidate that is clearly slower, even on its warm-up step: beside a
        busy neighbour a step with too many threads took up to 10x longer."""
        others = [statistics.median(s) for c, s in self._samples.items() if s and c != threads]
        if others and cost > self.give_up * min(others):
            self._plan = [(c, m) for c, m in self._plan if c != threads]
            self._samples[threads] = self._samples[threads] or [cost]

    def _choose(self) -> None:
        costs = {c: statistics.median(s) for c, s in self._samples.items() if s}
        best = min(costs.values())
        # within 3% of the best, fewer threads win: they leave a core to everyone else
        chosen = min(c for c, v in costs.items() if v <= best * 1.03)
        previous, self.threads = self.threads, chosen
        # each recheck that changes nothing doubles the wait for the next: timing a losing
        # setting costs up to 10 steps' time beside a busy neighbour
        kept = chosen == previous and self.events
        self._recheck = self._recheck * 2 if kept else self.recheck_every
        self._set(chosen)
        self._recent.clear()
        self._reference, self._since_choice = None, 0
        event = {
            "step": self._step,
            "reason": self._reason,
            "us_per_unit": {str(c): round(v * 1e6, 4) for c, v in costs.items()},
            "threads": chosen,
            "previous": previous,
        }
        self.events.append(event)
        verb = "switch" if chosen != previous else "keep"
        log.info(
            "threads: %s %d -> %d at step %d (%s); us per padded token %s",
            verb,
            previous,
            chosen,
            self._step,
            self._reason,
            event["us_per_unit"],
        )


def runtime_callbacks(threads: int | str | None) -> list[AdaptiveThreads]:
    """The callbacks `runtime.threads` asks for: AdaptiveThreads for `auto`, none for a number."""
    if threads in (None, "auto") and len(default_candidates()) > 1:
        return [AdaptiveThreads()]
    return []
