"""CPU batch inference of a trained text run: docs/s and validation accuracy per number format.

    python -m benchmarks.inference_modes <run dir> [--repeats 5]

PyTorch fp32 / bf16 / int8 (dynamic quantisation, `lstmkit.inference.precision`) and
onnxruntime with all graph optimisations, fp32 and int8 (its dynamic quantisation), each
over the run's validation split (never test) in length-sorted batches of 256. The run's
data is rebuilt from the preprocessing cache with the run's own data settings. Prints and
writes JSON beside the run (`inference_modes.json`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from lstmkit.data.text import TextDataModule
from lstmkit.inference.batching import probabilities
from lstmkit.inference.export import export_onnx
from lstmkit.inference.precision import PRECISIONS, for_inference
from lstmkit.inference.run import load_run
from lstmkit.runtime import configure_torch

DATA_KEYS = ("path", "text_column", "label_column", "split_column", "val_fraction")
DATA_KEYS += ("test_fraction", "seed", "drop_duplicates", "drop_empty", "builtin", "cache_dir")


class OnnxNet:
    """An onnxruntime session called like the network: (inputs, lengths) -> logits."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        ids = inputs.long() if not inputs.is_floating_point() else inputs  # exported as int64
        feed = {"inputs": ids.numpy(), "lengths": lengths.numpy()}
        return torch.from_numpy(self.session.run(None, feed)[0])


def validation_split(run_dir: Path) -> Any:
    """The run's val split, rebuilt from plain values of its saved data config (no _target_)."""
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    data = OmegaConf.to_container(config.data, resolve=True)
    assert isinstance(data, dict)
    kwargs = {k: data[k] for k in DATA_KEYS if k in data}
    dm = TextDataModule(**kwargs, tokenizer=dict(data["tokenizer"]))
    dm.setup()
    return dm.splits["val"]


def measure(net: Any, val: Any, repeats: int) -> dict[str, float]:
    times, probs = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        probs = probabilities(net, val.inputs, 256)
        times.append(time.perf_counter() - start)
    accuracy = float((probs.argmax(1) == np.asarray(val.targets)).mean())
    return {"docs_per_s": round(len(val) / statistics.median(times)), "val_accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    configure_torch("auto")
    run = load_run(args.run)
    val = validation_split(args.run)
    results: dict[str, Any] = {"val_docs": len(val), "threads": torch.get_num_threads()}
    for precision in PRECISIONS:
        results[f"torch_{precision}"] = measure(
            for_inference(run.net, precision), val, args.repeats
        )
    with tempfile.TemporaryDirectory() as tmp:
        onnx = Path(tmp) / "model.onnx"
        export_onnx(args.run, onnx)
        results["onnxruntime_fp32"] = measure(OnnxNet(onnx), val, args.repeats)
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = Path(tmp) / "model.int8.onnx"
        quantize_dynamic(str(onnx), str(quantized), weight_type=QuantType.QInt8)
        results["onnxruntime_int8"] = measure(OnnxNet(quantized), val, args.repeats)
    print(json.dumps(results, indent=2))
    (args.run / "inference_modes.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
