"""The chunked (streamed) text build gives exactly the arrays of the in-memory build."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import make_text_frame

from lstmkit.data.ragged import Ragged, RaggedWriter
from lstmkit.data.split import SPLITS
from lstmkit.data.text import TextDataModule
from lstmkit.errors import DataError
from lstmkit.inference.predict import predict

CHUNK_MB = 2 / 1024  # 2 KB blocks: a few dozen rows per chunk, many chunks


def small_csv(tmp_path, with_split: bool = False):
    frame = make_text_frame(60, seed=3)
    extra = frame.iloc[:5].copy()  # duplicates up to whitespace, dropped before splitting
    extra["text"] = "  " + extra["text"].str.replace(" ", "   ") + " "
    frame = pd.concat([frame, extra, pd.DataFrame({"text": [" ", ""], "label": ["sport"] * 2})])
    frame["label"] = frame["label"].where(frame.index % 7 != 0, frame["label"].str.upper())
    if with_split:
        frame["part"] = np.resize(["train", "train", "Validation", "test", "train"], len(frame))
    path = tmp_path / "texts.csv"
    frame.to_csv(path, index=False)
    return path


def built(path, tmp_path, name: str, **kwargs) -> TextDataModule:
    dm = TextDataModule(
        str(path), cache_dir=str(tmp_path / name), drop_empty=True, chunk_mb=CHUNK_MB, **kwargs
    )
    dm.setup()
    return dm


@pytest.mark.parametrize("model", ["word", "bpe"])
@pytest.mark.parametrize("with_split", [False, True])
def test_streamed_build_equals_in_memory(tmp_path, model, with_split):
    path = small_csv(tmp_path, with_split)
    extra = {"split_column": "part"} if with_split else {}
    tok = {"model": model, "vocab_size": 120 if model == "bpe" else 30000}
    whole = built(path, tmp_path, "whole", tokenizer=tok, **extra)
    streamed = built(path, tmp_path, "streamed", tokenizer=tok, stream_above_mb=0, **extra)
    for split in SPLITS:
        a, b = whole.splits[split], streamed.splits[split]
        assert len(a) > 0
        np.testing.assert_array_equal(a.inputs.offsets, b.inputs.offsets)
        np.testing.assert_array_equal(a.inputs.values, b.inputs.values)
        np.testing.assert_array_equal(a.targets, b.targets)
    assert whole.encoder.vocabulary == streamed.encoder.vocabulary
    assert whole.labels.names == streamed.labels.names
    meta = [json.loads((dm.cache_folder / "meta.json").read_text()) for dm in (whole, streamed)]
    assert meta[0] == meta[1] and meta[0]["duplicates_dropped"] == 5
    assert isinstance(streamed.splits["train"].inputs.values, np.memmap)  # loaded lazily


def test_streamed_build_names_the_line_of_an_empty_label(tmp_path):
    frame = make_text_frame(40)
    frame.loc[100, "label"] = None
    path = tmp_path / "texts.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="label column 'label' is empty at line\\(s\\) 102"):
        built(path, tmp_path, "c", stream_above_mb=0)


def test_ragged_writer_appends_like_save(tmp_path):
    rows = [np.arange(n, dtype=np.int32) for n in (3, 0, 5, 1)]
    writer = RaggedWriter(tmp_path / "w")
    writer.append(Ragged.from_list(rows[:2]))
    writer.append(Ragged.from_list(rows[2:]))
    writer.close()
    Ragged.from_list(rows).save(tmp_path / "s")
    for suffix in (".values.npy", ".offsets.npy"):
        got = np.load(tmp_path / f"w{suffix}")
        np.testing.assert_array_equal(got, np.load(tmp_path / f"s{suffix}"))


@pytest.mark.slow
def test_streamed_predict_writes_what_the_whole_file_predict_writes(text_run, tmp_path):
    frame = make_text_frame(30, seed=5).drop(columns="label")
    frame["doc"] = [f"d{i % 70}" for i in range(len(frame))]  # keys repeat across chunks
    frame.loc[[3, 50], "text"] = ["", "   "]
    frame.loc[[10, 80], "doc"] = None
    csv = tmp_path / "new.csv"
    frame.to_csv(csv, index=False)
    reports = {}
    for name, above in (("whole", 256), ("streamed", 0)):
        out = tmp_path / f"{name}.csv"
        reports[name] = predict(
            str(text_run),
            str(csv),
            str(out),
            id_column="doc",
            chunk_mb=CHUNK_MB,
            stream_above_mb=above,
        )
    whole, streamed = (pd.read_csv(tmp_path / f"{n}.csv") for n in ("whole", "streamed"))
    pd.testing.assert_frame_equal(whole, streamed)
    assert len(streamed) == len(frame) and streamed.columns[0] == "doc"
    for key in ("rows", "predicted", "issues", "totals"):
        assert reports["whole"][key] == reports["streamed"][key]
    issues = reports["streamed"]["issues"]
    assert issues["empty_text"]["lines"] == [5, 52]
    assert issues["missing_id"]["lines"] == [12, 82]
    assert issues["duplicate_id"]["count"] == 38  # d0..d19 twice, but d10 only missing
