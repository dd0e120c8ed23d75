"""Long-format sequence classification data: parsing, normalisation, splits, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import long_frame

from lstmkit.data.sequences import SequenceDataModule
from lstmkit.errors import DataError


def write(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "seq.csv"
    frame.to_csv(path, index=False)
    return path


def module(path, tmp_path, **kw) -> SequenceDataModule:
    kw = {
        "id_column": "sid",
        "step_column": "t",
        "split_column": "split",
        "cache_dir": str(tmp_path / "cache"),
    } | kw
    return SequenceDataModule(str(path), **kw)


def test_long_format_becomes_ragged_float_sequences(tmp_path):
    frame = long_frame()
    dm = module(write(tmp_path, frame), tmp_path)
    dm.setup()
    assert dm.model_kwargs() == {"input_size": 2, "num_classes": 2, "patch": 1}
    counts = {s: len(d) for s, d in dm.splits.items()}
    assert counts == {"train": 16, "val": 2, "test": 6}  # val carved from the official train
    lengths = frame.groupby("sid").size()
    train = dm.splits["train"].inputs
    assert train.values.dtype == np.float32 and train.values.shape[1] == 2
    assert sorted(
        train.lengths.tolist()
        + dm.splits["val"].inputs.lengths.tolist()
        + dm.splits["test"].inputs.lengths.tolist()
    ) == sorted(lengths.tolist())
    # standardised with training statistics only: train features have mean 0 and std 1
    np.testing.assert_allclose(train.values.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(train.values.std(0), 1, atol=1e-4)
    # one test sequence, checked step by step against the file
    ids = np.load(dm.cache_folder / "test.ids.npy")
    rows = frame[frame.sid == ids[0]].sort_values("t")
    train_rows = frame[frame.sid.isin(np.load(dm.cache_folder / "train.ids.npy"))]
    expected = (rows.a - train_rows.a.mean()) / train_rows.a.std(ddof=0)
    np.testing.assert_allclose(dm.splits["test"].inputs[0][:, 0], expected, rtol=1e-5)
    assert dm.splits["test"].targets[0] == dm.labels.names.index(rows.label.iloc[0])
    again = module(write(tmp_path, frame), tmp_path, epoch_repeats=2)
    again.setup()
    assert again.cache_hit and not dm.cache_hit and len(again.splits["train"]) == 2 * 16


BAD = {
    "no label": (
        lambda f: f.assign(label=f.label.where(f.sid != "low2", None)),
        r"sequence id\(s\) \['low2'\] have no label",
    ),
    "two labels": (
        lambda f: f.assign(label=f.label.where(~((f.sid == "low4") & (f.t == 0)), "high")),
        r"\['low4'\] carry different labels",
    ),
    "duplicate step": (
        lambda f: pd.concat([f, f[(f.sid == "high1") & (f.t == 20)]]),
        r"duplicate step\(s\) in column 't'",
    ),
    "unsorted": (lambda f: f.iloc[::-1], r"unsorted step\(s\) in column 't'"),
    "non-numeric": (
        lambda f: f.astype({"b": object}).assign(b=lambda d: d.b.where(d.index != 7, "loud")),
        r"column 'b' holds a non-numeric value 'loud' at line\(s\) 9",
    ),
    "nan": (lambda f: f.assign(a=f.a.where(f.index != 4)), r"missing value\(s\) at line\(s\) 6"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_sequences_get_a_clear_message_and_leave_no_cache(name, tmp_path):
    change, pattern = BAD[name]
    with pytest.raises(DataError, match=pattern):
        module(write(tmp_path, change(long_frame())), tmp_path).setup()
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(cache.iterdir())
