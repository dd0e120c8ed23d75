"""Training-speed measurements on BBC News: the pipeline, a raw loop, and batching variants."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate

from benchmarks.loops import bucketed_batches, padded_to_max_batches, train_epoch
from benchmarks.machine import median_time
from benchmarks.pipeline_run import compose_config, run_pipeline
from lstmkit.callbacks.adaptive_threads import default_candidates
from lstmkit.data.batches import RaggedDataset

# Embedding 128 -> BiLSTM 128 -> mean pool -> Linear (conf/model/lstm.yaml), batch 32
MODEL = ["model=lstm", "data.batch_size=32"]


def datamodule(max_length: int, out: Path) -> Any:
    cfg = compose_config([*MODEL, f"data.tokenizer.max_length={max_length}"], out)
    dm = instantiate(cfg.data)
    dm.prepare_data()
    dm.setup("fit")
    return cfg, dm


def new_model(cfg: Any, dm: Any, path: str, seed: int, device: str = "cpu") -> torch.nn.Module:
    torch.manual_seed(seed)
    return instantiate(cfg.model, **dm.model_kwargs(), backend=path).to(device)


def pipeline_run(
    epochs: int, seed: int, *overrides: str, kernel_shapes: list | None = None
) -> dict:
    """The real pipeline for `epochs` epochs: speed, accuracy, and the threads/precision used.

    With `kernel_shapes` the stock kernel is timed after every epoch too (`TrainTimer`), and
    `paired_over_kernel` is the median over epochs of each epoch's tokens/s over that kernel's.
    """
    with tempfile.TemporaryDirectory() as tmp:
        shapes_file = None
        if kernel_shapes is not None:
            shapes_file = Path(tmp) / "kernel_shapes.json"
            shapes_file.write_text(json.dumps(kernel_shapes))
        report, timings = run_pipeline(
            [
                *MODEL,
                f"trainer.max_epochs={epochs}",
                "~callbacks.early_stopping",
                "trainer.enable_progress_bar=false",
                f"seed={seed}",
                *overrides,
            ],
            Path(tmp) / "run",
            shapes_file,
        )
    seconds = statistics.median(timings["epoch_s"])
    runtime = report["runtime"]
    epochs_run = zip(timings["tokens"], timings["epoch_s"], strict=True)
    kernels = timings["kernel"]  # one per epoch with kernel_shapes, else none
    paired = [t / s / k for (t, s), k in zip(epochs_run, kernels, strict=False)]
    return {
        "paired_over_kernel": statistics.median(paired) if paired else None,
        "paired_ratios": paired,
        "paired_kernel_tokens_per_s": timings["kernel"],
        "overrides": list(overrides),
        "s_per_epoch": seconds,
        "tokens_per_s": timings["tokens"][0] / seconds,
        "epoch_samples_s": timings["epoch_s"],
        "val_acc": [v.get("val/acc") for v in timings["val"]],
        "test_acc": report["metrics"].get("test/acc"),
        "precision": runtime.get("precision"),
        "threads": runtime.get("threads"),
        "threads_events": runtime.get("threads_events", []),
    }


def raw_loop(epochs: int, seed: int = 42, bf16: bool = False, threads: int | None = None) -> dict:
    """A minimal loop over the same encoded tensors: no Lightning, no metrics, no hooks.

    `threads`: the pipeline's final thread count (the process's own count is restored after).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        return _raw_loop(epochs, seed, bf16)
    finally:
        torch.set_num_threads(before)


def _raw_loop(epochs: int, seed: int, bf16: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg, dm = datamodule(400, Path(tmp) / "raw")
    model = new_model(cfg, dm, "auto", seed)
    optimizer = instantiate(cfg.optimizer)(model.parameters())
    train = dm.splits["train"]
    samples = [
        median_time(
            lambda e=e: train_epoch(
                model, bucketed_batches(train, 32, seed, e), optimizer=optimizer, bf16=bf16
            ),
            1,
        )[0]
        for e in range(epochs)
    ]
    seconds = statistics.median(samples)
    return {
        "s_per_epoch": seconds,
        "tokens_per_s": int(train.inputs.lengths.sum()) / seconds,
        "epoch_samples_s": samples,
        "threads": torch.get_num_threads(),
    }


@contextmanager
def busy_neighbours(count: int) -> Iterator[list[subprocess.Popen]]:
    """`count` busy-loop processes, one core each, for as long as the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def default_vs_fixed(epochs: int, seed: int = 42, neighbours: int = 0) -> dict:
    """runtime.threads=auto against every fixed thread count it chooses between.

    The process's thread count is restored afterwards, so later sections do not inherit the
    last fixed setting.
    """
    threads = torch.get_num_threads()
    settings = {"auto": (), **{str(n): (f"runtime.threads={n}",) for n in default_candidates()}}
    # each setting runs twice, in mirrored order (auto, 1, 2, 2, 1, auto): a setting that ran
    # first no longer pays the warm-up alone, and a linear drift of the machine cancels out
    order = [*settings, *reversed(settings)]
    timed: dict[str, list[dict]] = {k: [] for k in settings}
    try:
        with busy_neighbours(neighbours):
            for key in order:
                timed[key].append(pipeline_run(epochs, seed, *settings[key]))
    finally:
        torch.set_num_threads(threads)
    runs = {k: mean_run(v) for k, v in timed.items()}
    best = max((k for k in runs if k != "auto"), key=lambda k: runs[k]["tokens_per_s"])
    return {
        "neighbours": neighbours,
        "runs": runs,
        "best_fixed": best,
        "auto_over_best_fixed": runs["auto"]["tokens_per_s"] / runs[best]["tokens_per_s"],
    }


def mean_run(runs: list[dict]) -> dict:
    """The first run's record with tokens/s averaged over the repeats (each one kept)."""
    speeds = [r["tokens_per_s"] for r in runs]
    return {**runs[0], "tokens_per_s": sum(speeds) / len(speeds), "repeats_tokens_per_s": speeds}


def subset(data: RaggedDataset, n: int, seed: int) -> RaggedDataset:
    idx = np.sort(np.random.default_rng(seed).permutation(len(data))[:n])
    return RaggedDataset(data.inputs.take(idx), data.targets[idx])


def batching_variants(
    max_length: int,
    docs: int,
    repeats: int,
    seed: int = 0,
    device: str = "cpu",
    bf16: bool = False,
    packed_docs: int | None = None,
) -> dict:
    """Naive pad-to-max vs bucketed exact padded vs bucketed packed, on a seeded document subset.

    Seconds are scaled to a full training epoch. Packing on CPU is an order of magnitude
    slower, so it may be timed on fewer documents (`packed_docs`, one repeat).
    """
    with tempfile.TemporaryDirectory() as tmp:
        cfg, dm = datamodule(max_length, Path(tmp))
    full = len(dm.splits["train"])
    train = subset(dm.splits["train"], docs, seed)
    packed_train = subset(dm.splits["train"], packed_docs or docs, seed)
    variants = {
        "naive_pad_to_max": (
            "padded",
            train,
            repeats,
            lambda d: padded_to_max_batches(d, 32, max_length, seed),
        ),
        "bucketed_exact_padded": (
            "padded",
            train,
            repeats,
            lambda d: bucketed_batches(d, 32, seed),
        ),
        "bucketed_packed": (
            "packed",
            packed_train,
            1 if packed_docs else repeats,
            lambda d: bucketed_batches(d, 32, seed),
        ),
    }
    results: dict[str, Any] = {}
    for name, (path, data, reps, batches) in variants.items():
        model = new_model(cfg, dm, path, seed, device)
        seconds, samples = median_time(
            lambda m=model, d=data, b=batches: train_epoch(m, b(d), bf16=bf16), reps
        )
        results[name] = {
            "s_per_epoch": seconds * full / len(data),
            "docs": len(data),
            "tokens_per_s": int(data.inputs.lengths.sum()) / seconds,
            "samples_s": samples,
        }
    naive = results["naive_pad_to_max"]["s_per_epoch"]
    for name in results:
        results[name]["speedup_vs_naive"] = naive / results[name]["s_per_epoch"]
    results["max_abs_diff_padded_vs_packed"] = exactness(cfg, dm, train, seed, device)
    results["pad_fraction_naive"] = 1 - int(train.inputs.lengths.sum()) / (len(train) * max_length)
    return results


@torch.no_grad()
def exactness(cfg: Any, dm: Any, data: RaggedDataset, seed: int, device: str = "cpu") -> float:
    """Largest difference between the exact padded path and packing on real batches."""
    model = new_model(cfg, dm, "padded", seed, device).eval()
    worst = 0.0
    for batch in bucketed_batches(data, 32, seed):
        batch = {k: v.to(device) for k, v in batch.items()}
        x = model.input_layer(batch["inputs"])
        model.encoder.backend = "padded"
        a, fa = model.encoder(x, batch["lengths"])
        model.encoder.backend = "packed"
        b, fb = model.encoder(x, batch["lengths"])
        worst = max(worst, float((a - b).abs().max()), float((fa - fb).abs().max()))
    return worst


@torch.inference_mode()
def inference(repeats: int, seed: int = 42) -> dict:
    """Rows per second of the predict path: eval mode, bucketed batches of 64, softmax out."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg, dm = datamodule(400, Path(tmp))
    model = new_model(cfg, dm, "auto", seed).eval()
    data = dm.splits["test"]

    def run() -> None:
        for batch in dm.test_dataloader():
            torch.softmax(model(batch["inputs"], batch["lengths"]), dim=-1)

    seconds, samples = median_time(run, repeats)
    return {"rows_per_s": len(data) / seconds, "rows": len(data), "samples_s": samples}
