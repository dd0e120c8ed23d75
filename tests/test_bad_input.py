"""Bad input gets a clear message naming the file, column or line, and leaves no cache behind."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import make_text_frame, run_train, tiny_run_overrides

from lstmkit.data.text import TextDataModule
from lstmkit.errors import ConfigError, DataError


def module(path, tmp_path, **kw):
    return TextDataModule(str(path), cache_dir=str(tmp_path / "cache"), **kw)


def write(tmp_path, frame: pd.DataFrame, name="bad.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def raw(name: str, content: bytes):
    def make(tmp_path):
        (tmp_path / name).write_bytes(content)
        return tmp_path / name

    return make


CASES = {
    "missing file": (lambda p: p / "nope.csv", {}, r"not found: .*nope\.csv"),
    "directory": (lambda p: p, {}, r"is a directory"),
    "empty file": (raw("e.csv", b""), {}, r"is empty \(0 bytes\)"),
    "header only": (raw("h.csv", b"text,label\n"), {}, r"header but no data rows"),
    "misnamed column": (
        lambda p: write(p, make_text_frame(3)),
        {"text_column": "body"},
        r"data.text_column='body'.*columns \['text', 'label'\]",
    ),
    "wrong delimiter": (raw("s.csv", b"text;label\na b;x\n"), {}, r"different delimiter"),
    "non-utf8": (
        raw("l.csv", b"text,label\nok,a\ncaf\xe9 bar,b\n"),
        {},
        r"not valid utf-8 text at line 3.*data.encoding",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_file_level_errors(name, tmp_path):
    make, kwargs, pattern = CASES[name]
    with pytest.raises(DataError, match=pattern):
        module(make(tmp_path), tmp_path, **kwargs).setup()
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_empty_texts_are_named_by_line_or_dropped_on_request(tmp_path):
    frame = make_text_frame(10)
    frame.loc[4, "text"] = "   "
    frame.loc[7, "text"] = None
    path = write(tmp_path, frame)
    with pytest.raises(DataError, match=r"empty at line\(s\) 6, 9.*drop_empty=true"):
        module(path, tmp_path).setup()
    dm = module(path, tmp_path, drop_empty=True)
    dm.setup()
    assert sum(len(d) for d in dm.splits.values()) == len(frame) - 2


def test_nan_labels_are_named_by_line(tmp_path):
    frame = make_text_frame(10)
    frame.loc[2, "label"] = None
    with pytest.raises(DataError, match=r"label column 'label' is empty at line\(s\) 4"):
        module(write(tmp_path, frame), tmp_path).setup()


def test_single_class(tmp_path):
    frame = make_text_frame(10)
    frame["label"] = "only"
    with pytest.raises(DataError, match="single class"):
        module(write(tmp_path, frame), tmp_path).setup()


def test_label_seen_only_in_test(tmp_path):
    frame = make_text_frame(10)
    frame["split"] = "train"
    frame.loc[:3, "split"] = "test"
    frame.loc[:3, "label"] = "rare"
    with pytest.raises(DataError, match=r"\['rare'\] appear in the test split but never in train"):
        module(write(tmp_path, frame), tmp_path, split_column="split").setup()


def test_bad_split_value(tmp_path):
    frame = make_text_frame(5)
    frame["split"] = "train"
    frame.loc[3, "split"] = "holdout"
    with pytest.raises(DataError, match=r"'holdout' at line 5"):
        module(write(tmp_path, frame), tmp_path, split_column="split").setup()


def test_split_column_is_respected(tmp_path):
    frame = make_text_frame(10)
    frame["split"] = ["train", "train", "val", "test", "train"] * (len(frame) // 5)
    dm = module(write(tmp_path, frame), tmp_path, split_column="split")
    dm.setup()
    assert {s: len(d) for s, d in dm.splits.items()} == {
        s: int((frame["split"] == s).sum()) for s in ("train", "val", "test")
    }


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"tokenizer": {"model": "sentencepiece"}}, "tokenizer.model='sentencepiece'"),
        ({"tokenizer": {"max_length": 0}}, "max_length must be >= 1"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, "sum to less than 1"),
    ],
)
def test_config_errors(kwargs, pattern, tmp_path, text_csv):
    with pytest.raises(ConfigError, match=pattern):
        module(text_csv, tmp_path, **kwargs).setup()


@pytest.mark.slow
def test_train_py_reports_user_errors_without_traceback(tmp_path):
    out = tmp_path / "outputs"
    done = run_train(*tiny_run_overrides(tmp_path / "missing.csv", out))
    assert done.returncode == 2
    assert "CSV file not found" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not (out / "cache").exists()
    assert not (out / "run" / "metrics.json").exists()


@pytest.mark.slow
def test_unknown_config_option(tmp_path, text_csv):
    done = run_train(*tiny_run_overrides(text_csv, tmp_path / "o", "model.hiden_size=3"))
    assert done.returncode != 0
    assert "model.hiden_size" in done.stderr and "Traceback" not in done.stderr
