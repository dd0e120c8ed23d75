"""DDP from train.py (gloo on CPU): `trainer=ddp trainer.devices=2` on one machine, and two
"nodes" on localhost started by torchrun: one run folder, synced metrics, resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, run_train, tiny_run_overrides, trained_run
from hydra.utils import instantiate

from lstmkit.inference.batching import probabilities
from lstmkit.inference.run import load_run

pytestmark = pytest.mark.slow
EXTRA = (
    "trainer.max_epochs=6",
    "optimizer.lr=1e-2",
    "callbacks.early_stopping=null",
    "callbacks.embedding_projector=null",
)


def rescore_test_split(run_dir) -> tuple[float, float]:
    """Accuracy and mean cross-entropy of the best checkpoint on the whole test split."""
    run = load_run(run_dir)
    dm = instantiate(run.config["data"])
    dm.setup("test")
    test = dm.splits["test"]
    probs = probabilities(run.net, test.inputs)
    picked = probs[np.arange(len(probs)), test.targets]
    return float((probs.argmax(1) == test.targets).mean()), float(-np.log(picked).mean())


def check_per_class_report(run_dir, n_test: int, accuracy: float) -> None:
    """test_per_class.json covers every test example of every rank, not rank 0's share."""
    confusion = np.array(json.loads((run_dir / "test_per_class.json").read_text())["confusion"])
    assert confusion.sum() == n_test
    assert np.trace(confusion) / n_test == pytest.approx(accuracy, abs=1e-6)


def test_two_process_ddp_matches_one_process(text_csv, tmp_path):
    out = tmp_path / "o"
    single = run_train(*tiny_run_overrides(text_csv, out, *EXTRA, f"hydra.run.dir={out}/one"))
    assert single.returncode == 0, single.stderr[-3000:]
    # 2 ranks x batch 8 = the single run's batch of 16 per optimizer step
    ddp = run_train(
        *tiny_run_overrides(
            text_csv,
            out,
            *EXTRA,
            f"hydra.run.dir={out}/ddp",
            "trainer=ddp",
            "trainer.devices=2",
            "trainer.accelerator=cpu",
            "data.batch_size=8",
        )
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]

    assert sorted(p.name for p in out.iterdir()) == ["cache", "ddp", "one"]  # one folder
    one = json.loads((out / "one" / "metrics.json").read_text())
    two = json.loads((out / "ddp" / "metrics.json").read_text())
    # 84 training texts: 6 batches of 16 in one process; 11 of 8 shared by 2 ranks, rounded
    # down to 5 steps each so both ranks step together
    assert (one["global_step"], two["global_step"]) == (6 * 6, 6 * 5)
    # test metrics are synced over both ranks: they equal a one-process rescoring of the
    # very same checkpoint on every test example
    acc, loss = rescore_test_split(out / "ddp")  # 24 test texts: 12 per rank
    assert two["metrics"]["test/acc"] == pytest.approx(acc, abs=1e-6)
    # the run tests under bf16 autocast (trainer.precision=auto on a bf16 CPU), this rescoring
    # in fp32: 5e-4 apart with averaged (EMA) weights, exact with trainer.precision=32-true
    assert two["metrics"]["test/loss"] == pytest.approx(loss, rel=2e-3)
    check_per_class_report(out / "ddp", 24, acc)
    for run in (one, two):
        assert run["metrics"]["test/acc"] >= 0.8, run["metrics"]
    assert abs(one["metrics"]["test/acc"] - two["metrics"]["test/acc"]) <= 0.15
    print("1 process:", one["metrics"], "\n2 processes:", two["metrics"])
    assert np.isfinite(two["metrics"]["val/loss"])


def test_two_process_forecasting_ranks_share_the_training_windows(tmp_path):
    """64 windows a epoch in batches of 16: 4 steps in one process, 2 on each of 2 ranks."""
    out = tmp_path / "o"
    run = trained_run(
        out,
        "experiment=airline",
        f"paths.data_dir={tmp_path / 'data'}",
        "trainer=ddp",
        "trainer.devices=2",
        "trainer.accelerator=cpu",
        "model.hidden_size=8",
        "model.quantiles=[0.1,0.5,0.9]",  # conformal widening gathers val windows from both
        "data.windows_per_epoch=64",
        "trainer.max_epochs=1",
    )
    report = json.loads((run / "metrics.json").read_text())
    assert 0 <= report["metrics"]["test/coverage_80"] <= 1
    assert report["global_step"] == 2  # each rank drew its own 32 windows, not all 64
    # rank 0 scores test origins 1 and 3, rank 1 origin 2: the metric sums are added across
    # ranks, so the baselines (the same on every rank) equal one process's exactly
    scores = report["metrics"]
    assert scores["test/backtest/origin_3/snaive_mape"] == pytest.approx(9.99, abs=0.005)
    assert scores["test/snaive_mape"] == pytest.approx(8.0602, abs=1e-3)
    assert scores["test/ets_mape"] == pytest.approx(3.8929, abs=1e-3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_two_nodes(log_dir: Path, *overrides: str, timeout: float = 300) -> None:
    """`train.py <overrides>` on 2 "nodes" of this machine, 1 process each, c10d rendezvous.

    Each node is its own torchrun (as on two machines, or two srun tasks); a node that fails
    or a run past `timeout` takes both process groups (agents and their workers) down.
    """
    endpoint, run_id = f"127.0.0.1:{free_port()}", f"lstmkit-{time.monotonic_ns()}"
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONWARNINGS": "ignore"}
    nodes = []
    for rank in (0, 1):
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2"]
        command += ["--nproc-per-node=1", f"--node-rank={rank}", "--max-restarts=0"]
        command += ["--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}", f"--rdzv-id={run_id}"]
        command += ["--rdzv-conf=join_timeout=120", str(ROOT / "train.py"), *overrides]
        with (log_dir / f"node{rank}.log").open("w") as log:
            nodes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    deadline = time.monotonic() + timeout
    try:
        for node in nodes:
            node.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for node in nodes:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
    for rank, node in enumerate(nodes):
        text = (log_dir / f"node{rank}.log").read_text()
        assert node.returncode == 0, f"node {rank} exited {node.returncode}:\n{text[-3000:]}"


def test_two_nodes_on_localhost_train_one_run_and_resume_it(text_csv, tmp_path):
    """torchrun --nnodes=2 --nproc-per-node=1, c10d rendezvous, gloo: one run folder, metrics
    synced over both nodes (= a one-process rescoring), and resume continues the same run."""
    out = tmp_path / "o"
    run_dir = out / "run"
    torchrun_two_nodes(
        tmp_path,
        *tiny_run_overrides(
            text_csv,
            out,
            *EXTRA[1:],
            "trainer.max_epochs=3",
            "trainer=ddp",
            "trainer.num_nodes=2",
            "trainer.devices=1",
            "trainer.accelerator=cpu",
            "data.batch_size=8",
        ),
    )
    assert sorted(p.name for p in out.iterdir()) == ["cache", "run"]  # one run folder
    report = json.loads((run_dir / "metrics.json").read_text())
    assert (report["epochs"], report["global_step"]) == (3, 3 * 5)  # 11 batches of 8: 5 a rank
    acc, loss = rescore_test_split(run_dir)
    assert report["metrics"]["test/acc"] == pytest.approx(acc, abs=1e-6)
    assert report["metrics"]["test/loss"] == pytest.approx(loss, rel=2e-3)  # bf16 vs fp32
    check_per_class_report(run_dir, 24, acc)
    assert (
        "Starting with 2 processes"
        in (tmp_path / "node0.log").read_text() + (tmp_path / "node1.log").read_text()
    )

    # resume in place on the same two nodes: the run's own config (ddp, 2 nodes) comes back
    torchrun_two_nodes(tmp_path, f"resume={run_dir}", "trainer.max_epochs=5")
    assert sorted(p.name for p in out.iterdir()) == ["cache", "run"]
    resumed = json.loads((run_dir / "metrics.json").read_text())
    assert (resumed["epochs"], resumed["global_step"]) == (5, 5 * 5)  # continued, not restarted
    acc, loss = rescore_test_split(run_dir)
    assert resumed["metrics"]["test/acc"] == pytest.approx(acc, abs=1e-6)
    check_per_class_report(run_dir, 24, acc)
    epochs = (run_dir / "epochs.csv").read_text().splitlines()
    assert len(epochs) == 1 + 5  # header + one line per epoch, the first three kept
