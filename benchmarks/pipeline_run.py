"""Run the real training pipeline (Hydra config -> DataModule -> LightningModule -> Trainer)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from benchmarks.kernel import kernel_tokens_per_s
from lstmkit.atomic import write_json

CONF = Path(__file__).resolve().parents[1] / "conf"


class TrainTimer(L.Callback):
    """Training-only wall time per epoch (validation excluded), non-pad tokens, val metrics.

    With `kernel_shapes` (a JSON file of `benchmarks.kernel.epoch_shapes`), it also times the
    stock kernel over those shapes after each epoch, at the pipeline's precision and its thread
    count of the moment: a yardstick taken seconds after the epoch it is compared with, on a
    machine whose speed drifts from minute to minute. Outside the epoch's timed span.
    """

    def __init__(self, out: str, kernel_shapes: str | None = None) -> None:
        self.out, self.epochs, self.tokens, self.val = out, [], [], []
        self.shapes = json.loads(Path(kernel_shapes).read_text()) if kernel_shapes else None
        self.kernel: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = self._last = time.perf_counter()
        self._tokens = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._last = time.perf_counter()
        self._tokens += int(batch["lengths"].sum())

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epochs.append(self._last - self._start)
        self.tokens.append(self._tokens)
        # runs after this epoch's validation: its val metrics are current
        val = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        self.val.append(val)
        if self.shapes:
            bf16 = str(trainer.precision).startswith("bf16")
            n = torch.get_num_threads()
            speeds = kernel_tokens_per_s(
                2, [n], shapes=[tuple(s) for s in self.shapes], precisions=(bf16,)
            )
            self.kernel.append(next(iter(speeds.values())))
        write_json(
            self.out,
            {"epoch_s": self.epochs, "tokens": self.tokens, "val": self.val, "kernel": self.kernel},
        )


def compose_config(overrides: list[str], run_dir: Path) -> DictConfig:
    """The config `python train.py <overrides>` would run, with its run folder at `run_dir`."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.run_dir = str(run_dir)
        del cfg["hydra"]  # a real run's cfg has no hydra node; HydraConfig keeps it
    return cfg


def run_pipeline(
    overrides: list[str], run_dir: Path, kernel_shapes: Path | None = None
) -> tuple[dict[str, Any], dict[str, list]]:
    """Train exactly as train.py does, plus a timer; return the run report and epoch timings.

    `kernel_shapes`: also time the stock kernel after each epoch (`TrainTimer`).
    """
    from lstmkit.pipeline import train

    timings = run_dir / "timings.json"
    extra = [
        f"+callbacks.bench_timer._target_={TrainTimer.__module__}.TrainTimer",
        f"+callbacks.bench_timer.out={timings}",
    ]
    if kernel_shapes is not None:
        extra.append(f"+callbacks.bench_timer.kernel_shapes={kernel_shapes}")
    report = train(compose_config(overrides + extra, run_dir))
    return report, json.loads(timings.read_text())
