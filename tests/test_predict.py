"""predict.py on a new CSV with a real tiny text run; ONNX export checked in onnxruntime."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import TEXT_RUN_MAX_LENGTH, make_text_frame, run_script

from lstmkit.data.tokenization import TextEncoder, TokenizerConfig
from lstmkit.inference.export import export_onnx
from lstmkit.inference.run import load_run
from lstmkit.inference.text import classify_texts

pytestmark = pytest.mark.slow


def run_predict(*args: str):
    return run_script("predict.py", *args, timeout=120)


def test_predict_cli_keeps_every_row_and_reports_what_it_could_not_use(text_run, tmp_path):
    long_text = " ".join(["market bank shares"] * 30)  # 90 tokens > TEXT_RUN_MAX_LENGTH
    frame = pd.DataFrame(
        {
            "doc": [f"d{i}" for i in range(8)],
            "text": [
                "match goal team player win",
                "",
                "software chip phone zorblax qwerty",
                long_text,
                None,
                "florp blarg",
                "market bank profit",
                "   ",
            ],
        }
    )
    csv = tmp_path / "new.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "preds.csv"
    done = run_predict(f"run={text_run}", f"input={csv}", f"output={out}")
    assert done.returncode == 0, done.stderr[-3000:]

    preds = pd.read_csv(out)
    assert len(preds) == len(frame) and preds["doc"].tolist() == frame["doc"].tolist()
    assert preds["line"].tolist() == list(range(2, 10))
    probs = preds[["prob_money", "prob_sport", "prob_tech"]]
    ok = preds["status"] == "ok"
    assert ok.sum() == 5
    assert np.allclose(probs[ok].sum(axis=1), 1.0, atol=1e-5)
    assert probs[~ok].isna().all().all() and preds.loc[~ok, "predicted"].isna().all()
    assert set(preds.loc[ok, "predicted"]) <= {"money", "sport", "tech"}
    assert preds.loc[0, "predicted"] == "sport" and preds.loc[6, "predicted"] == "money"
    assert preds.loc[3, "truncated"] and preds.loc[3, "tokens"] == 90 > TEXT_RUN_MAX_LENGTH
    assert preds.loc[2, "unknown_tokens"] == 2

    report = json.loads((tmp_path / "preds.csv.report.json").read_text())
    assert (report["rows"], report["predicted"]) == (8, 5)
    issues = report["issues"]
    assert issues["empty_text"]["lines"] == [3, 6, 9]
    assert issues["unknown_tokens"]["lines"] == [4, 7]
    assert issues["all_unknown"]["lines"] == [7]
    assert issues["truncated"]["lines"] == [5]
    assert "3 empty_text" in done.stderr and "line(s) 3, 6, 9" in done.stderr


def test_predict_keeps_the_text_and_reports_missing_or_duplicated_keys(text_run, tmp_path):
    frame = pd.DataFrame(
        {
            "text": ["match goal", "market bank", "chip phone", "team win", "tax fund"],
            "doc": ["a", None, "c", "a", "e"],
            "source": ["x", "y", "x", "y", "x"],
        }
    )
    csv, out = tmp_path / "keyed.csv", tmp_path / "keyed.predictions.csv"
    frame.to_csv(csv, index=False)
    done = run_predict(f"run={text_run}", f"input={csv}", "keep_text=true", "id_column=doc")
    assert done.returncode == 0, done.stderr[-3000:]
    preds = pd.read_csv(out)
    assert preds.columns[0] == "doc" and (preds["status"] == "ok").all()  # still predicted
    assert preds["text"].tolist() == frame["text"].tolist()
    assert preds["source"].tolist() == frame["source"].tolist()
    issues = json.loads((tmp_path / "keyed.predictions.csv.report.json").read_text())["issues"]
    assert issues["missing_id"]["lines"] == [3]
    assert issues["duplicate_id"]["lines"] == [2, 5]
    assert "1 missing_id" in done.stderr and "2 duplicate_id" in done.stderr

    plain = run_predict(f"run={text_run}", f"input={csv}", f"output={tmp_path / 'p.csv'}")
    assert "text" not in pd.read_csv(tmp_path / "p.csv").columns  # the default drops it

    wrong = run_predict(f"run={text_run}", f"input={csv}", "id_column=key")
    assert wrong.returncode == 2 and "id_column='key' is not an input column" in wrong.stderr
    assert "'doc'" in wrong.stderr and "Traceback" not in wrong.stderr
    typo = run_predict(f"run={text_run}", f"input={csv}", "keep_text=yes please")
    assert typo.returncode == 2 and "keep_text must be true or false" in typo.stderr
    assert plain.returncode == 0


def test_predict_encodes_exactly_like_training(text_run, tmp_path):
    """Same ids (truncation included) and the same network output as the training encoder."""
    texts = make_text_frame(5, seed=7)["text"].tolist() + [" ".join(["tax fund"] * 25)]
    csv = tmp_path / "t.csv"
    pd.DataFrame({"text": texts}).to_csv(csv, index=False)
    run = load_run(text_run)
    out, _ = classify_texts(run, str(csv))
    cfg = TokenizerConfig(**run.spec["tokenizer"])
    encoded = TextEncoder.load(cfg, run.preprocessor).encode(texts)
    padded, mask = encoded.pad(np.arange(len(texts)))
    with torch.inference_mode():
        logits = run.net(torch.from_numpy(padded), torch.from_numpy(mask.sum(1)))
    expected = torch.softmax(logits, -1).numpy()
    got = out[[f"prob_{c}" for c in run.spec["labels"]]].to_numpy()
    assert np.abs(got - expected).max() < 1e-6


def test_predict_errors_exit_2_with_a_clear_message(text_run, tmp_path):
    csv = tmp_path / "x.csv"
    pd.DataFrame({"body": ["a b"]}).to_csv(csv, index=False)
    done = run_predict(f"run={text_run}", f"input={csv}", f"output={tmp_path / 'p.csv'}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "text_column='text'" in done.stderr and "['body']" in done.stderr
    assert not (tmp_path / "p.csv").exists()


def test_onnx_export_matches_pytorch(text_run, tmp_path):
    result = export_onnx(text_run, tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").is_file()
    assert result["max_abs_diff"] < 1e-5
    print("\nONNX vs PyTorch max |diff|:", result["max_abs_diff"], result["shapes"])
    assert [3, 29] in result["shapes"]  # another batch size and length than exported with
