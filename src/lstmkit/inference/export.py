"""Export a run's trained network to ONNX (dynamic batch and length), checked in onnxruntime."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmkit.atomic import atomic_path
from lstmkit.inference.run import LoadedRun, load_run
from lstmkit.models.recurrent import RecurrentEncoder

log = logging.getLogger(__name__)
INPUT_NAMES = ["inputs", "lengths"]


def input_names(run: LoadedRun) -> list[str]:
    """The graph's inputs: a forecaster with known-future inputs or a series embedding also
    takes `future` [batch, horizon, future_size] and `series` [batch] (int64 ids)."""
    params = run.model.params
    members = params.get("members") or [params]
    if params.get("future_size") or any(m.get("series_embedding") for m in members):
        return [*INPUT_NAMES, "future", "series"]
    return INPUT_NAMES


def example_inputs(
    run: LoadedRun, batch: int, steps: int, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Inputs shaped like real batches: token ids for text, scaled features otherwise."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, steps + 1, (batch,), generator=g)
    lengths[0] = steps  # the batch is padded to its longest sequence
    params = run.model.params  # model.json: the sizes the network was built with
    if params.get("vocab_size"):
        inputs = torch.randint(2, params["vocab_size"], (batch, steps), generator=g)
        inputs[torch.arange(steps)[None, :] >= lengths[:, None]] = 0
    else:
        if run.spec["kind"] == "timeseries":
            lengths[:] = steps  # windows are full length
        inputs = torch.randn(batch, steps, params["input_size"], generator=g)
    if len(input_names(run)) > len(INPUT_NAMES):
        future = torch.randn(batch, params["horizon"], params.get("future_size") or 0, generator=g)
        series = torch.randint(0, _num_series(params), (batch,), generator=g)
        return inputs, lengths, future, series
    return inputs, lengths


def _num_series(params: dict[str, Any]) -> int:
    return int((params.get("members") or [params])[0].get("num_series") or 1)


def _padded(net: nn.Module) -> nn.Module:
    """The exact padded path everywhere: packing has no ONNX form that keeps lengths dynamic."""
    for module in net.modules():
        if isinstance(module, RecurrentEncoder):
            module.backend = "padded"
    return net


def export_onnx(
    run_dir: str | Path,
    output: str | Path,
    checkpoint: str = "best",
    opset: int | None = None,
    quantize: bool = False,
) -> dict[str, Any]:
    """Write `output` (.onnx) and return the onnxruntime-vs-PyTorch max abs difference.

    `quantize` also writes `<output stem>.int8.onnx`, onnxruntime's dynamic int8
    quantisation of the same graph (LSTM and MatMul weights), checked the same way.
    """
    run = load_run(run_dir, checkpoint)
    net = _padded(run.net)
    steps = run.spec.get("input_length", 12)
    example = example_inputs(run, 4, steps)
    names = input_names(run)
    axes = {name: {0: "batch"} for name in [*names, "outputs"]}
    axes["inputs"][1] = "time"
    if run.spec["kind"] == "timeseries":
        del axes["inputs"][1]  # the window length is fixed by training (data.input_length)
    output = Path(output)
    with atomic_path(output) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the TorchScript exporter: in torch 2.13 the dynamo exporter fixes the LSTM output's
        # time dimension to the example's length (onnxruntime then fails on other lengths)
        torch.onnx.export(
            net,
            example,
            str(tmp),
            dynamo=False,
            input_names=names,
            output_names=["outputs"],
            dynamic_axes=axes,
            opset_version=opset or 17,
        )
    check = compare_onnxruntime(net, output, run, steps)
    log.info(
        "exported %s to %s; onnxruntime max |diff| %.3g over %s",
        run.checkpoint,
        output,
        check["max_abs_diff"],
        check["shapes"],
    )
    result = {"output": str(output), "checkpoint": str(run.checkpoint), **check}
    if quantize:
        result["int8"] = quantize_onnx(net, output, run, steps)
    return result


def quantize_onnx(net: nn.Module, path: Path, run: LoadedRun, steps: int) -> dict[str, Any]:
    """Dynamic int8 quantisation of an exported model; 1.25x onnxruntime fp32 on BBC News,
    same validation accuracy (docs/scale.md)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name(path.stem + ".int8.onnx")
    with atomic_path(target) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(str(path), str(tmp), weight_type=QuantType.QInt8)
    return {"output": str(target), **compare_onnxruntime(net, target, run, steps)}


def compare_onnxruntime(net: nn.Module, path: Path, run: LoadedRun, steps: int) -> dict[str, Any]:
    """Run PyTorch and onnxruntime on batches of other sizes and lengths than the export's."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst, shapes = 0.0, []
    for i, (batch, length) in enumerate([(1, steps), (7, steps), (3, 2 * steps + 5)]):
        if run.spec["kind"] == "timeseries" and length != steps:
            continue
        example = example_inputs(run, batch, length, seed=i + 1)
        with torch.inference_mode():
            expected = net(*example).numpy()
        graph = {i.name for i in session.get_inputs()}  # an input the net ignores is dropped
        feed = {n: t.numpy() for n, t in zip(input_names(run), example, strict=True) if n in graph}
        got = session.run(None, feed)[0]
        worst = max(worst, float(np.abs(got - expected).max()))
        shapes.append([batch, length])
    return {"max_abs_diff": worst, "shapes": shapes}
