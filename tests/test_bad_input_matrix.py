"""The bad-input matrix: every malformed input ends with a clear, specific message.

The one bad-input module. Data and config mistakes run in-process (only the message matters;
fast); the entry points run as subprocesses where the exit code matters. Each case also checks
that nothing a later run would trust is left behind: no complete cache entry, no metrics.json,
no checkpoint, no predictions file. Inputs that are suspicious but usable are in WARNINGS: they
load, and the log names what looks wrong.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import ROOT, long_frame, make_text_frame, run_train, tiny_run_overrides
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from lstmkit.config_checks import check_config, instantiation_error
from lstmkit.data.sequences import SequenceDataModule
from lstmkit.data.text import TextDataModule
from lstmkit.data.timeseries import TimeSeriesDataModule
from lstmkit.errors import ConfigError, DataError, UserError, disk_error
from lstmkit.inference.predict import predict
from lstmkit.models.spec import ModelSpec
from lstmkit.run_config import save_config
from predict import main as predict_main


def csv_of(frame: pd.DataFrame) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        frame.to_csv(tmp / "in.csv", index=False)
        return tmp / "in.csv"

    return make


def raw(content: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / "in.csv").write_bytes(content)
        return tmp / "in.csv"

    return make


def series(n: int = 60, **columns) -> pd.DataFrame:
    t = np.arange(n)
    return pd.DataFrame({"time": t, "value": 100.0 + t + 10 * np.sin(t), **columns})


def daily(n: int = 60) -> pd.DataFrame:
    """A daily series whose dates are YYYYMMDD integers, as many exports write them."""
    days = pd.date_range("2020-01-20", periods=n, freq="D")
    return series(n).assign(time=days.strftime("%Y%m%d").astype(int))


def with_inf(frame: pd.DataFrame, column: str, row: int) -> pd.DataFrame:
    out = frame.astype({column: object})
    out.loc[row, column] = "inf"
    return out


TEXT = make_text_frame(10)
SEQ = long_frame()
text_with = TEXT.assign  # shorthand
BUILDERS = {
    "text": lambda path, cache, kw: TextDataModule(str(path), cache_dir=str(cache), **kw),
    "series": lambda path, cache, kw: TimeSeriesDataModule(
        str(path),
        cache_dir=str(cache),
        **{"input_length": 6, "horizon": 3, "val_size": 6, "test_size": 6, "season": 4, **kw},
    ),
    "seq": lambda path, cache, kw: SequenceDataModule(
        str(path),
        cache_dir=str(cache),
        **{"id_column": "sid", "step_column": "t", "split_column": "split", **kw},
    ),
}

# name: (data kind, make the file, module kwargs, error, message pattern)
CASES = {
    "missing file": ("text", lambda t: t / "nope.csv", {}, DataError, r"not found: .*nope\.csv"),
    "directory": ("text", lambda t: t, {}, DataError, r"is a directory, not a CSV"),
    "empty file": ("text", raw(b""), {}, DataError, r"is empty \(0 bytes\)"),
    "header only": ("text", raw(b"text,label\n"), {}, DataError, r"header but no data rows"),
    "wrong delimiter": (
        "text",
        csv_of(TEXT.assign(text=TEXT.text.str.replace(" ", "_"))),
        {"delimiter": ";"},
        DataError,
        r"column\(s\) not found.*different delimiter; set data.delimiter",
    ),
    "missing column": (
        "text",
        csv_of(TEXT),
        {"label_column": "topic"},
        DataError,
        r"data.label_column='topic'.*columns \['text', 'label'\]",
    ),
    "NaN labels": (
        "text",
        csv_of(TEXT.assign(label=TEXT.label.where(TEXT.index != 4))),
        {},
        DataError,
        r"label column 'label' is empty at line\(s\) 6",
    ),
    "single class": (
        "text",
        csv_of(TEXT.assign(label="sport")),
        {},
        DataError,
        r"holds a single class \('sport'\)",
    ),
    "label only in test": (
        "text",
        csv_of(
            TEXT.assign(
                split=np.where(TEXT.index < 3, "test", "train"),
                label=np.where(TEXT.index < 3, "weather", TEXT.label),
            )
        ),
        {"split_column": "split"},
        DataError,
        r"\['weather'\] appear in the test split but never in train",
    ),
    "non-UTF-8": (
        "text",
        raw(b"text,label\nok go,a\ncaf\xe9 au lait,b\n"),
        {},
        DataError,
        r"not valid utf-8 text at line 3 .*data.encoding",
    ),
    "unparseable quoting": (
        "text",
        raw(b'text,label\n"open quote,a\nb,c\n'),
        {},
        DataError,
        r"lines 2-3 read as one row of 1 field\(s\) .*: a quote opened there is never closed",
    ),
    "empty texts": (
        "text",
        csv_of(TEXT.assign(text=TEXT.text.where(TEXT.index != 2, "  "))),
        {},
        DataError,
        r"text column 'text' is empty at line\(s\) 4.*drop_empty",
    ),
    "zero batch size": (
        "text",
        csv_of(TEXT),
        {"batch_size": 0},
        ConfigError,
        r"data.batch_size must be >= 1, got 0",
    ),
    "negative vocab size": (
        "text",
        csv_of(TEXT),
        {"tokenizer": {"vocab_size": -5}},
        ConfigError,
        r"data.tokenizer.vocab_size must be >= 1, got -5",
    ),
    "fractions sum >= 1": (
        "text",
        csv_of(TEXT),
        {"val_fraction": 0.5, "test_fraction": 0.5},
        ConfigError,
        r"sum to less than 1",
    ),
    "strings in numeric column": (
        "series",
        csv_of(
            series()
            .astype({"value": object})
            .assign(value=lambda d: d.value.where(d.index != 8, "12 kg"))
        ),
        {},
        DataError,
        r"column 'value' holds a non-numeric value '12 kg' at line\(s\) 10",
    ),
    "duplicate timestamps": (
        "series",
        csv_of(pd.concat([series().iloc[:9], series().iloc[8:]])),
        {},
        DataError,
        r"duplicate time step\(s\) in column 'time'",
    ),
    "unsorted timestamps": (
        "series",
        csv_of(series().iloc[[0, 2, 1, *range(3, 60)]]),
        {},
        DataError,
        r"unsorted time step\(s\) in column 'time' at line\(s\) 4",
    ),
    "gap in timestamps": (
        "series",
        csv_of(series().drop(index=30)),
        {},
        DataError,
        r"irregular time steps in column 'time'",
    ),
    "series too short": (
        "series",
        csv_of(series(20)),
        {},
        DataError,
        r"has 20 points; its training span \(8 .*input_length \+ horizon = 9",
    ),
    "missing value": (
        "series",
        csv_of(series().assign(value=lambda d: d.value.where(d.index != 12))),
        {},
        DataError,
        r"missing value\(s\) in column 'value' at line\(s\) 14",
    ),
    "zero input_length": (
        "series",
        csv_of(series()),
        {"input_length": 0},
        ConfigError,
        r"data.input_length must be >= 1, got 0",
    ),
    "negative horizon": (
        "series",
        csv_of(series()),
        {"horizon": -2},
        ConfigError,
        r"data.horizon must be >= 1, got -2",
    ),
    "missing series column": (
        "series",
        csv_of(series()),
        {"series_column": "store"},
        DataError,
        r"data.series_column='store'",
    ),
    "sequence label conflict": (
        "seq",
        csv_of(SEQ.assign(label=np.where((SEQ.sid == "low0") & (SEQ.t == 0), "high", SEQ.label))),
        {},
        DataError,
        r"\['low0'\] carry different labels",
    ),
    "sequence duplicate steps": (
        "seq",
        csv_of(pd.concat([SEQ, SEQ[SEQ.sid == "low0"].tail(1)])),
        {},
        DataError,
        r"duplicate step\(s\) in column 't'",
    ),
    "sequence strings in features": (
        "seq",
        csv_of(SEQ.astype({"b": object}).assign(b=lambda d: d.b.where(d.index != 5, "loud"))),
        {},
        DataError,
        r"column 'b' holds a non-numeric value 'loud' at line\(s\) 7",
    ),
    "sequence single class": (
        "seq",
        csv_of(SEQ.assign(label="low")),
        {},
        DataError,
        r"single class",
    ),
    "sequence zero batch size": (
        "seq",
        csv_of(SEQ),
        {"batch_size": 0},
        ConfigError,
        r"data.batch_size",
    ),
    "bad split value": (
        "text",
        csv_of(TEXT.assign(split=np.where(TEXT.index == 3, "holdout", "train"))),
        {"split_column": "split"},
        DataError,
        r"'holdout' at line 5",
    ),
    "unknown tokenizer model": (
        "text",
        csv_of(TEXT),
        {"tokenizer": {"model": "sentencepiece"}},
        ConfigError,
        r"tokenizer.model='sentencepiece'",
    ),
    "zero max_length": (
        "text",
        csv_of(TEXT),
        {"tokenizer": {"max_length": 0}},
        ConfigError,
        r"max_length must be >= 1",
    ),
    "inf in a series": (
        "series",
        csv_of(with_inf(series(), "value", 8)),
        {},
        DataError,
        r"in\.csv: column 'value' holds an infinite value inf at line\(s\) 10",
    ),
    "inf in a covariate": (
        "series",
        csv_of(series(price=1.0).pipe(with_inf, "price", 40)),
        {"covariate_columns": ["price"]},
        DataError,
        r"column 'price' holds an infinite value inf at line\(s\) 42",
    ),
    "inf in sequence features": (
        "seq",
        csv_of(with_inf(SEQ, "a", 5)),
        {},
        DataError,
        r"in\.csv: column 'a' holds an infinite value inf at line\(s\) 7",
    ),
    "value beyond float32": (
        "seq",
        csv_of(SEQ.assign(a=np.where(SEQ.index == 5, 1e39, SEQ.a))),
        {"scaler": "none"},
        DataError,
        r"column 'a' holds a value too large for 32-bit floats 1e\+39 at line\(s\) 7",
    ),
    "UTF-16 file": (
        "text",
        lambda t: (
            (t / "in.csv").write_bytes(TEXT.to_csv(index=False).encode("utf-16")) and t / "in.csv"
        ),
        {},
        DataError,
        r"is not UTF-8: it looks like UTF-16 \(it starts with a byte-order mark\)\. "
        r"Pass data\.encoding=utf-16",
    ),
    "UTF-16 file without a byte-order mark": (
        "text",
        raw("text,label\nhello there,a\n".encode("utf-16-le")),
        {},
        DataError,
        r"looks like UTF-16 \(every other byte is zero\)",
    ),
    "unknown encoding name": (
        "text",
        csv_of(TEXT),
        {"encoding": "utf-99"},
        ConfigError,
        r"data.encoding='utf-99' is not a known text encoding",
    ),
    "duplicate column names": (
        "text",
        raw(b"text,label,text\nhello there,a,again\n"),
        {},
        DataError,
        r"duplicate column name\(s\) in the header: 'text' \(columns \[1, 3\]\)",
    ),
    "row with an extra field": (
        "text",
        raw(b"text,label\nhello there,a\nwell,b\nsalt, pepper,c\nok then,a\n"),
        {},
        DataError,
        r"line 4 has 3 field\(s\) where the header has 2\. Quote fields that contain",
    ),
    "multi-character delimiter": (
        "text",
        csv_of(TEXT),
        {"delimiter": "||"},
        ConfigError,
        r"data.delimiter must be one character, got '\|\|'; write data.delimiter=\\t",
    ),
    "YYYYMMDD dates with a gap": (
        "series",
        csv_of(daily().drop(index=30)),
        {},
        DataError,
        r"irregular time steps in column 'time' \(read as dates in the form %Y%m%d "
        r"\(YYYYMMDD\); data.time_format sets the form\).* at line\(s\) 32",
    ),
    "date not in data.time_format": (
        "series",
        csv_of(series().assign(time=pd.date_range("2020-01-01", periods=60).astype(str))),
        {"time_format": "%d/%m/%Y"},
        DataError,
        r"holds '2020-01-01' at line\(s\) 2.*not a date in the form %d/%m/%Y",
    ),
    "month-first date read day-first": (
        "series",
        csv_of(series().assign(time=pd.date_range("2020-01-01", periods=60).strftime("%m/%d/%Y"))),
        {"dayfirst": True},
        DataError,
        r"holds '01/13/2020' .*not a date in the form %d/%m/%Y guessed from '01/01/2020'",
    ),
    "val_fraction 0": (
        "text",
        csv_of(TEXT),
        {"val_fraction": 0.0},
        ConfigError,
        r"in\.csv: the val split is empty.*data.val_fraction > 0",
    ),
    "val_size 0": (
        "series",
        csv_of(series()),
        {"val_size": 0},
        ConfigError,
        r"data.val_size=0 leaves no validation window",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_data_or_config(name, tmp_path):
    kind, make, kwargs, error, pattern = CASES[name]
    folder = tmp_path / "data"
    folder.mkdir()
    cache = tmp_path / "cache"
    with pytest.raises(error, match=pattern):
        dm = BUILDERS[kind](make(folder), cache, kwargs)
        dm.setup("fit")
    assert not cache.exists() or not any(cache.iterdir()), "a failed run left a cache entry"


# -- suspicious but usable: the data loads, and the log names what looks wrong ---------------
def case_frame() -> pd.DataFrame:
    """Two 'Sport' rows beside 'sport': a class of its own, too rare for val and test."""
    return TEXT.assign(label=np.where(TEXT.index < 2, "Sport", TEXT.label))


WARNINGS = {
    "labels differing only by case": (
        "text",
        csv_of(case_frame()),
        {},
        r"column 'label' holds labels that differ only by case or surrounding whitespace: "
        r"'Sport' / 'sport'",
    ),
    "class absent from val and test": (
        "text",
        csv_of(case_frame()),
        {},
        r"class\(es\) \['Sport'\] of column 'label' have no example in the val split",
    ),
    "series ids differing only by whitespace": (
        "series",
        csv_of(pd.concat([series().assign(store="north"), series().assign(store="north ")])),
        {"series_column": "store"},
        r"column 'store' holds series names that differ only by case.*'north' / 'north '",
    ),
    "sequence ids differing only by case": (
        "seq",
        csv_of(SEQ.assign(sid=SEQ.sid.replace("low1", "Low0"))),
        {},
        r"column 'sid' holds ids that differ only by case.*'Low0' / 'low0'",
    ),
}


@pytest.mark.parametrize("name", WARNINGS)
def test_suspicious_input_loads_with_a_warning(name, tmp_path, caplog):
    kind, make, kwargs, pattern = WARNINGS[name]
    dm = BUILDERS[kind](make(tmp_path), tmp_path / "cache", kwargs)
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert re.search(pattern, caplog.text), caplog.text[-2000:]


# -- accepted forms of the same inputs -------------------------------------------------------
def test_tab_delimiter_and_utf16_are_read_when_named(tmp_path):
    path = tmp_path / "in.tsv"
    path.write_bytes(TEXT.to_csv(index=False, sep="\t").encode("utf-16"))
    dm = BUILDERS["text"](path, tmp_path / "cache", {"delimiter": "\\t", "encoding": "utf-16"})
    dm.setup("fit")
    assert sum(len(d) for d in dm.splits.values()) == len(TEXT)


@pytest.mark.parametrize(
    "frame,form",
    [
        (daily(), "%Y%m%d (YYYYMMDD)"),
        (
            series().assign(
                time=pd.date_range("2001-01", periods=60, freq="MS").strftime("%Y%m").astype(int)
            ),
            "%Y%m (YYYYMM)",
        ),
    ],
)
def test_compact_numeric_dates_are_read_as_dates_and_say_so(frame, form, tmp_path, caplog):
    path = csv_of(frame)(tmp_path)
    with caplog.at_level(logging.INFO):
        BUILDERS["series"](path, tmp_path / "cache", {}).setup("fit")
    assert f"time column 'time' read as dates in the form {form}" in caplog.text
    with pytest.raises(DataError, match=r"irregular time steps .*\(read as numbers;"):
        BUILDERS["series"](path, tmp_path / "cache", {"time_format": "number"}).setup("fit")


def test_dayfirst_and_time_format_read_day_month_dates(tmp_path):
    days = pd.date_range("2020-01-01", periods=60).strftime("%d/%m/%Y")
    path = csv_of(series().assign(time=days))(tmp_path)
    for kwargs in ({"dayfirst": True}, {"time_format": "%d/%m/%Y"}):
        dm = BUILDERS["series"](path, tmp_path / "cache", kwargs)
        dm.setup("fit")
        assert len(dm.splits["train"]) > 0


def test_empty_texts_are_dropped_on_request(tmp_path):
    frame = TEXT.assign(text=TEXT.text.where(~TEXT.index.isin([4, 7]), "  "))
    dm = BUILDERS["text"](csv_of(frame)(tmp_path), tmp_path / "cache", {"drop_empty": True})
    dm.setup("fit")
    assert sum(len(d) for d in dm.splits.values()) == len(frame) - 2


def test_split_column_is_respected(tmp_path):
    frame = TEXT.assign(split=["train", "train", "val", "test", "train"] * (len(TEXT) // 5))
    dm = BUILDERS["text"](csv_of(frame)(tmp_path), tmp_path / "cache", {"split_column": "split"})
    dm.setup("fit")
    assert {s: len(d) for s, d in dm.splits.items()} == {
        s: int((frame["split"] == s).sum()) for s in ("train", "val", "test")
    }


def test_a_10mb_line_is_read_and_truncated(tmp_path):
    frame = TEXT.copy()
    frame.loc[3, "text"] = "market " * 1_500_000  # 10.5 MB in one CSV line
    path = csv_of(frame)(tmp_path)
    dm = TextDataModule(str(path), cache_dir=str(tmp_path / "cache"), tokenizer={"max_length": 50})
    dm.setup("fit")
    assert max(int(d.inputs.lengths.max()) for d in dm.splits.values()) == 50


def test_batch_size_larger_than_the_data_gives_one_batch(tmp_path):
    dm = TextDataModule(
        str(csv_of(TEXT)(tmp_path)), cache_dir=str(tmp_path / "cache"), batch_size=10_000
    )
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 1 and len(batches[0]["targets"]) == len(dm.splits["train"])


# -- config values: composed for real, checked before anything is built ----------------------
def composed(overrides: list[str]):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=["data.path=in.csv", *overrides])


CONFIGS = {
    "negative learning rate": (["optimizer.lr=-1"], r"^optimizer.lr must be > 0, got -1\.$"),
    "learning rate not a number": (
        ["optimizer.lr=abc"],
        r"^optimizer.lr must be a number > 0, got 'abc'\.$",
    ),
    "batch size not a number": (
        ["data.batch_size=abc"],
        r"^data.batch_size must be a whole number >= 1, got 'abc'\.$",
    ),
    "val_fraction 0 without a split column": (
        ["data=text_csv", "data.val_fraction=0"],
        r"^data.val_fraction=0 leaves no validation split",
    ),
    "test_fraction 1": (["data.test_fraction=1"], r"data.test_fraction must be in \[0, 1\), got 1"),
    "max_epochs not a number": (["trainer.max_epochs=ten"], r"trainer.max_epochs must be a whole"),
    "max_epochs 0": (["trainer.max_epochs=0"], r"^trainer.max_epochs=0 trains nothing"),
    "dropout above 1": (["model.dropout=1.5"], r"model.dropout must be in \[0, 1\), got 1.5"),
    "flag not a boolean": (["data.drop_empty=maybe"], r"data.drop_empty must be true or false"),
    "neighbours not a boolean": (
        ["ensemble.neighbours=yes"],
        r"ensemble.neighbours must be true or false",
    ),
    "fractional horizon": (
        ["data=airline", "model=seq2seq", "data.horizon=2.5"],
        r"data.horizon must be a whole number >= 1, got 2.5",
    ),
    "val_size 0 (forecasting)": (
        ["data=airline", "model=seq2seq", "data.val_size=0"],
        r"data.val_size=0 leaves no validation window",
    ),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_bad_config_value_names_its_key(name):
    overrides, pattern = CONFIGS[name]
    with pytest.raises(ConfigError, match=pattern):
        check_config(composed(overrides))


def test_a_wrong_type_inside_a_constructor_is_one_line_naming_the_node():
    """What train.py does when a value no check knows reaches a constructor as a string."""
    cfg = composed(["data=text_csv", "data.batch_size=abc"])
    with pytest.raises(InstantiationException) as raised:
        instantiate(cfg.data)
    error = instantiation_error(raised.value)
    assert re.match(
        r"a value under data has the wrong type or range \((Type|Value)Error: ", str(error)
    )
    assert "\n" not in str(error)


@pytest.mark.parametrize("data", sorted(p.stem for p in (ROOT / "conf" / "data").glob("*.yaml")))
def test_shipped_configs_pass_the_checks(data):
    """...and so does Lightning's 'no epoch limit' (-1, with max_steps)."""
    model = "seq2seq" if data in ("airline", "sunspots", "timeseries_csv") else "lstm"
    check_config(composed([f"data={data}", f"model={model}", "trainer.max_epochs=-1"]))


# -- predict on real (untrained) run folders: data module + network + weights-only checkpoint
def untrained_run(folder: Path, dm, model: dict, data: dict | None = None) -> Path:
    """A run folder as train.py leaves it, without training: predict's checks come first."""
    dm.setup("fit")
    run = folder / "run"
    dm.save_preprocessor(run / "preprocessor")
    spec = ModelSpec.from_config(model, dict(dm.model_kwargs()))
    spec.save(run)
    save_config(run, OmegaConf.create({"data": data or {}}), choices={})
    (run / "checkpoints").mkdir()
    torch.save(
        {"state_dict": {f"net.{k}": v for k, v in spec.build().state_dict().items()}},
        run / "checkpoints" / "best.ckpt",
    )
    return run


CLASSIFIER = {
    "_target_": "lstmkit.models.classifier.RecurrentClassifier",
    "embedding_dim": 8,
    "hidden_size": 8,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("runs")
    made = {}
    for kind, model in (
        ("text", CLASSIFIER),
        ("seq", CLASSIFIER),
        ("series", {"_target_": "lstmkit.models.seq2seq.Seq2SeqForecaster", "hidden_size": 4}),
    ):
        folder = tmp / kind
        folder.mkdir()
        frame = {"text": TEXT, "seq": SEQ, "series": series()}[kind]
        dm = BUILDERS[kind](csv_of(frame)(folder), folder / "cache", {})
        made[kind] = untrained_run(folder, dm, model)
    (made["text"] / "checkpoints" / "last.ckpt").write_bytes(b"PK\x03\x04 this is not a checkpoint")
    return made


def utf16(frame: pd.DataFrame) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / "in.csv").write_bytes(frame.to_csv(index=False).encode("utf-16"))
        return tmp / "in.csv"

    return make


# name: (run kind, predict kwargs from (run folder, tmp folder), message pattern)
PREDICT = {
    "predict CSV missing the text column": (
        "text",
        lambda run, t: {"input": csv_of(pd.DataFrame({"body": ["x y"]}))(t)},
        r"column\(s\) not found: text_column='text'.*\['body'\]",
    ),
    "predict corrupt checkpoint": (
        "text",
        lambda run, t: {"input": csv_of(TEXT)(t), "checkpoint": "last"},
        r"cannot read checkpoint .*last\.ckpt.*corrupt or truncated",
    ),
    "predict run folder missing": (
        "text",
        lambda run, t: {"run": str(t / "no-run"), "input": csv_of(TEXT)(t)},
        r"run folder not found: .*no-run",
    ),
    "predict run without checkpoint": (
        "text",
        lambda run, t: {"run": str(t), "input": csv_of(TEXT)(t)},
        r"has no checkpoints/best\.ckpt",
    ),
    "predict zero batch size": (
        "text",
        lambda run, t: {"input": csv_of(TEXT)(t), "batch_size": 0},
        r"batch_size must be >= 1",
    ),
    "predict batch size not a number": (
        "text",
        lambda run, t: {"input": csv_of(TEXT)(t), "batch_size": "lots"},
        r"^batch_size must be a whole number >= 1, got 'lots'\.$",
    ),
    "predict output is the input": (
        "text",
        lambda run, t: {"input": csv_of(TEXT)(t), "output": str(t / "in.csv")},
        r"output=.*in\.csv would overwrite the input",
    ),
    "predict input missing": (
        "text",
        lambda run, t: {"input": t / "nope.csv"},
        r"not found: .*nope\.csv\. Check the path or set input=<file>\.$",
    ),
    "predict UTF-16 input": (
        "text",
        lambda run, t: {"input": utf16(TEXT)(t)},
        r"looks like UTF-16 .*\. Pass encoding=utf-16,",  # predict's option, not data.encoding
    ),
    "predict multi-character delimiter": (
        "text",
        lambda run, t: {"input": csv_of(TEXT)(t), "delimiter": "||"},
        r"^delimiter must be one character, got '\|\|'; write delimiter=\\t",
    ),
    "predict inf in a sequence": (
        "seq",
        lambda run, t: {"input": csv_of(with_inf(SEQ.drop(columns=["label", "split"]), "a", 5))(t)},
        r"in\.csv: column 'a' holds an infinite value inf at line\(s\) 7",
    ),
    "predict missing value in a forecast window": (
        "series",
        lambda run, t: {
            "input": csv_of(series().assign(value=lambda d: d.value.where(d.index != 50)))(t)
        },
        r"missing value\(s\) in column 'value' at line\(s\) 52\. Fill them: the run was "
        r"trained with data.missing=error\.$",
    ),
    "predict inf in a forecast window": (
        "series",
        lambda run, t: {"input": csv_of(with_inf(series(), "value", 55))(t)},
        r"in\.csv: column 'value' holds an infinite value inf at line\(s\) 57",
    ),
}


def files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", PREDICT)
def test_bad_predict_input(name, runs, tmp_path):
    kind, make, pattern = PREDICT[name]
    kwargs = {
        "run": str(runs[kind]),
        "output": str(tmp_path / "out.csv"),
        **make(runs[kind], tmp_path),
    }
    before = files(tmp_path)
    with pytest.raises(UserError, match=pattern):
        predict(**{k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items()})
    assert files(tmp_path) == before, "a refused predict wrote or changed a file"


@pytest.mark.parametrize("kind", ["text", "seq", "series"])
def test_predict_on_good_input_with_the_same_run_folders(kind, runs, tmp_path):
    """The fixture's run folders predict fine: the refusals above come from the input alone."""
    frame = {"text": TEXT, "seq": SEQ.drop(columns=["label", "split"]), "series": series()}[kind]
    report = predict(str(runs[kind]), str(csv_of(frame)(tmp_path)), str(tmp_path / "p.csv"))
    assert report["predicted"] == {"text": len(TEXT), "seq": SEQ.sid.nunique(), "series": 1}[kind]


# -- full or read-only disks: the path, and how to go on ---------------------------------------
def test_a_full_disk_names_the_path_and_how_to_resume(tmp_path):
    run = tmp_path / "run"
    target = run / "checkpoints" / "epoch=3.ckpt"
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    assert "python train.py resume" not in str(disk_error(full, run))  # no last.ckpt yet
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    message = str(disk_error(full, run))
    assert f"cannot write {target} (run folder {run}): the disk is full" in message
    assert f"continue this run with: python train.py resume={run}" in message
    assert disk_error(OSError(errno.ENOENT, "gone", "x"), run) is None  # not a disk problem


def test_predict_py_output_where_a_folder_is_a_file_exits_2(runs, tmp_path, caplog):
    blocker = tmp_path / "results"
    blocker.write_text("a file, not a folder")
    args = [f"run={runs['text']}", f"input={csv_of(TEXT)(tmp_path)}", f"output={blocker}/p.csv"]
    with caplog.at_level(logging.ERROR):
        assert predict_main(args) == 2
    assert (
        f"cannot write {blocker}" in caplog.text and "a file stands where a folder" in caplog.text
    )


# -- entry points, where the exit code matters ------------------------------------------------
def assert_no_trusted_output(run: Path) -> None:
    assert not (run / "metrics.json").exists()
    assert not list(run.glob("checkpoints/*.ckpt"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "csv_name,override,message",
    [
        ("in.csv", "data.batch_size=-3", "data.batch_size must be >= 1, got -3."),
        ("in.csv", "model.hidden_size=-4", "model.hidden_size must be >= 1, got -4."),
        ("in.csv", "optimizer.lr=abc", "optimizer.lr must be a number > 0, got 'abc'."),
        ("missing.csv", "seed=1", "CSV file not found"),
        ("in.csv", "paths.cache_dir={tmp}/in.csv/cache", "a file stands where a folder is needed"),
    ],
)
def test_train_py_user_mistakes_exit_2(csv_name, override, message, tmp_path):
    csv_of(TEXT)(tmp_path)
    out = tmp_path / "o"
    override = override.format(tmp=tmp_path)
    done = run_train(*tiny_run_overrides(tmp_path / csv_name, out, override))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert message in done.stdout + done.stderr
    assert_no_trusted_output(out / "run")
    assert not (out / "cache").exists() or not any((out / "cache").iterdir())


@pytest.mark.slow
def test_train_py_unknown_option_is_refused_before_anything_runs(tmp_path):
    csv = csv_of(TEXT)(tmp_path)
    done = run_train(*tiny_run_overrides(csv, tmp_path / "o", "data.bach_size=8"))
    assert done.returncode == 1
    assert "Could not override 'data.bach_size'" in done.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_predict_py_exit_codes(runs, tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, str(ROOT / "predict.py")]
    bad_ckpt = subprocess.run(
        cmd + [f"run={runs['text']}", f"input={csv_of(TEXT)(tmp_path)}", "checkpoint=last"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad_ckpt.returncode == 2 and "cannot read checkpoint" in bad_ckpt.stderr
    assert "Traceback" not in bad_ckpt.stderr
    typo = subprocess.run(
        cmd + [f"run={runs['text']}", "inptu=x.csv"], capture_output=True, text=True, env=env
    )
    assert typo.returncode == 2 and "unknown argument 'inptu=x.csv'" in typo.stderr
