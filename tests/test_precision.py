"""predict in bf16 and with int8 dynamic-quantised weights: same rows, nearly the same answers."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from helpers import make_text_frame

from lstmkit.errors import ConfigError
from lstmkit.inference.export import export_onnx
from lstmkit.inference.precision import for_inference
from lstmkit.inference.predict import predict
from lstmkit.inference.run import load_run

pytestmark = pytest.mark.slow


def test_int8_replaces_lstm_and_linear_weights_and_keeps_the_original(text_run):
    net = load_run(text_run).net
    quantized = for_inference(net, "int8")
    kinds = {type(m).__module__ for m in quantized.modules()}
    assert any("quantized.dynamic" in k for k in kinds)
    assert not any("quantized" in type(m).__module__ for m in net.modules())  # a copy
    assert next(for_inference(net, "bf16").parameters()).dtype == torch.bfloat16
    with pytest.raises(ConfigError, match="precision must be one of"):
        for_inference(net, "fp8")


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_predict_in_lower_precision_agrees_with_fp32(text_run, tmp_path, precision):
    csv = tmp_path / "new.csv"
    make_text_frame(20, seed=9).drop(columns="label").to_csv(csv, index=False)
    predict(str(text_run), str(csv), str(tmp_path / "fp32.csv"))
    report = predict(str(text_run), str(csv), str(tmp_path / "low.csv"), precision=precision)
    exact, low = (pd.read_csv(tmp_path / f"{n}.csv") for n in ("fp32", "low"))
    assert report["precision"] == precision and len(low) == len(exact) == 60
    assert (low["predicted"] == exact["predicted"]).mean() >= 0.9
    probs = [c for c in exact.columns if c.startswith("prob_")]
    assert (low[probs] - exact[probs]).abs().to_numpy().max() < 0.2


def test_onnx_export_writes_a_checked_int8_model_beside_fp32(text_run, tmp_path):
    result = export_onnx(text_run, tmp_path / "model.onnx", quantize=True)
    int8 = tmp_path / "model.int8.onnx"
    assert result["int8"]["output"] == str(int8) and int8.is_file()
    assert int8.stat().st_size < (tmp_path / "model.onnx").stat().st_size
    assert result["int8"]["max_abs_diff"] < 0.1  # logits, against PyTorch fp32
