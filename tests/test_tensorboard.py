"""The real `tensorboard` server over a finished run serves its scalars, hparams and images."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import TEXT_RUN_EPOCHS

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, body: dict | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_for(check, seconds: float = 60.0):
    """Poll `check()` until it returns something truthy (the server loads runs lazily)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
            if value:
                return value
        except OSError:  # not listening yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError("tensorboard did not serve the run in time")
        time.sleep(0.5)


def test_tensorboard_serves_scalars_hparams_images_and_projector(text_run):
    tensorboard = Path(sys.executable).parent / "tensorboard"
    port = free_port()
    server = subprocess.Popen(
        [
            str(tensorboard),
            "--logdir",
            str(text_run),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--load_fast=false",
            "--reload_interval",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/data"
    try:
        runs = wait_for(lambda: get(f"{base}/runs"))
        assert runs == ["tensorboard"]
        tags = wait_for(lambda: get(f"{base}/plugin/scalars/tags").get("tensorboard"))
        assert {
            "train/loss_step",
            "train/loss_epoch",
            "val/loss",
            "val/acc",
            "lr-Adam",
            "hparams/best_val/acc",
            "hparams/test/acc",
            "test_per_class/sport/f1",
            "test_per_class/money/precision",
        } <= set(tags)
        points = get(f"{base}/plugin/scalars/scalars?run=tensorboard&tag=val/acc")
        assert len(points) == TEXT_RUN_EPOCHS  # [wall time, step, value] per epoch
        last_val = json.loads((text_run / "metrics.json").read_text())["metrics"]["val/acc"]
        assert points[-1][2] == pytest.approx(last_val)

        experiment = get(f"{base}/plugin/hparams/experiment", {"experimentName": ""})
        hparams = {h["name"] for h in experiment["hparamInfos"]}
        assert {"model.hidden_size", "optimizer.lr", "data.batch_size", "model.cell"} <= hparams
        metrics = {m["name"]["tag"] for m in experiment["metricInfos"]}
        assert {"hparams/best_val/acc", "hparams/test/acc"} <= metrics

        images = get(f"{base}/plugin/images/tags")
        assert "test/confusion_matrix" in images["tensorboard"]
        assert "tensorboard" in wait_for(lambda: get(f"{base}/plugin/projector/runs"))
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    assert server.returncode is not None
