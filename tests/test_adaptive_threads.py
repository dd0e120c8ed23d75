"""runtime.threads=auto: threads are timed while training, and re-timed when a neighbour starts."""

import subprocess
import sys

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from lstmkit.callbacks.adaptive_threads import AdaptiveThreads, runtime_callbacks
from lstmkit.models.classifier import RecurrentClassifier
from lstmkit.runtime import available_cpus
from lstmkit.tasks.classification import ClassificationTask

BUSY_LOOP = "while True: pass"


class Neighbour(L.Callback):
    """Starts two busy-loop processes per core at training step `at`; `stop()` kills them."""

    def __init__(self, at: int) -> None:
        self.at, self.procs, self.started_at = at, [], None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.at and not self.procs:
            self.procs = [
                subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
                for _ in range(2 * available_cpus())
            ]
            self.started_at = trainer.global_step

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


def batches(n: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [
        {
            "inputs": torch.randint(1, 200, (32, 48), generator=g),
            "lengths": torch.full((32,), 48),
            "targets": torch.randint(0, 3, (32,), generator=g),
        }
        for _ in range(n)
    ]


def fit(callbacks: list, steps: int) -> None:
    net = RecurrentClassifier(num_classes=3, vocab_size=200, embedding_dim=32, hidden_size=48)
    task = ClassificationTask(net, lambda p: torch.optim.Adam(p, lr=1e-3), num_classes=3)
    trainer = L.Trainer(
        max_steps=steps,
        callbacks=callbacks,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, DataLoader(batches(steps), batch_size=None))


@pytest.mark.slow
def test_a_busy_neighbour_triggers_a_retiming_that_keeps_the_faster_setting():
    threads = torch.get_num_threads()
    adaptive = AdaptiveThreads(candidates=[1, 2], probe_steps=3, rounds=2, window=8, drift=0.2)
    neighbour = Neighbour(at=30)
    try:
        fit([adaptive, neighbour], steps=80)
    finally:
        neighbour.stop()
        torch.set_num_threads(threads)
    first, *later = adaptive.events
    assert first["reason"] == "start" and set(first["us_per_unit"]) == {"1", "2"}
    retimed = [e for e in later if e["step"] > neighbour.started_at]
    assert retimed, adaptive.events  # the slowdown was noticed and the candidates timed again
    assert "step time" in retimed[0]["reason"]
    # the re-timing saw the neighbour (every candidate slower than at the start) ...
    for threads_, cost in retimed[0]["us_per_unit"].items():
        assert cost > first["us_per_unit"][threads_], adaptive.events
    # ... and kept the faster candidate by its own measurements (within 3%, fewer threads).
    # Which one wins beside busy processes is the machine's business: two OpenMP threads were
    # up to 2.5x slower on one run and 4% faster on another, so the test does not fix it.
    for event in adaptive.events:
        costs = {int(k): v for k, v in event["us_per_unit"].items()}
        best = min(costs.values())
        assert event["threads"] == min(c for c, v in costs.items() if v <= best * 1.03), event


def test_threads_auto_adds_the_callback_and_a_number_does_not():
    if available_cpus() > 1:
        assert [type(c) for c in runtime_callbacks("auto")] == [AdaptiveThreads]
    assert runtime_callbacks(1) == [] and runtime_callbacks("2") == []
