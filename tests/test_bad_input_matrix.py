"""The bad-input matrix: every malformed input ends with a clear, specific message.

Data and config mistakes run in-process (only the message matters; fast); the entry points
run as subprocesses where the exit code matters. Each case also checks that nothing a later
run would trust is left behind: no complete cache entry, no metrics.json, no checkpoint.
"""

from __future__ import annotations

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
from omegaconf import OmegaConf

from lstmkit.data.sequences import SequenceDataModule
from lstmkit.data.text import TextDataModule
from lstmkit.data.timeseries import TimeSeriesDataModule
from lstmkit.errors import ConfigError, DataError, UserError
from lstmkit.inference.predict import predict
from lstmkit.models.spec import ModelSpec
from lstmkit.run_config import save_config


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


TEXT = make_text_frame(10)
SEQ = long_frame()
text_with = TEXT.assign  # shorthand
BUILDERS = {
    "text": lambda path, cache, kw: TextDataModule(str(path), cache_dir=str(cache), **kw),
    "series": lambda path, cache, kw: TimeSeriesDataModule(
        str(path),
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
        r"Cannot parse .* as CSV",
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


# -- predict on a real (untrained) run folder: data module + network + weights-only checkpoint
@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    path = csv_of(TEXT)(tmp)
    dm = TextDataModule(str(path), cache_dir=str(tmp / "cache"))
    dm.setup("fit")
    run = tmp / "run"
    dm.save_preprocessor(run / "preprocessor")
    model = ModelSpec("classifier", {"embedding_dim": 8, "hidden_size": 8, **dm.model_kwargs()})
    model.save(run)
    save_config(run, OmegaConf.create({"data": {}}), choices={})
    (run / "checkpoints").mkdir()
    torch.save(
        {"state_dict": {f"net.{k}": v for k, v in model.build().state_dict().items()}},
        run / "checkpoints" / "best.ckpt",
    )
    (run / "checkpoints" / "last.ckpt").write_bytes(b"PK\x03\x04 this is not a checkpoint")
    return run


PREDICT = {
    "predict CSV missing the text column": (
        lambda run, t: {"input": csv_of(pd.DataFrame({"body": ["x y"]}))(t)},
        r"column\(s\) not found: text_column='text'.*\['body'\]",
    ),
    "predict corrupt checkpoint": (
        lambda run, t: {"input": csv_of(TEXT)(t), "checkpoint": "last"},
        r"cannot read checkpoint .*last\.ckpt.*corrupt or truncated",
    ),
    "predict run folder missing": (
        lambda run, t: {"run": str(t / "no-run"), "input": csv_of(TEXT)(t)},
        r"run folder not found: .*no-run",
    ),
    "predict run without checkpoint": (
        lambda run, t: {"run": str(t), "input": csv_of(TEXT)(t)},
        r"has no checkpoints/best\.ckpt",
    ),
    "predict zero batch size": (
        lambda run, t: {"input": csv_of(TEXT)(t), "batch_size": 0},
        r"batch_size must be >= 1",
    ),
}


@pytest.mark.parametrize("name", PREDICT)
def test_bad_predict_input(name, run_folder, tmp_path):
    make, pattern = PREDICT[name]
    kwargs = {
        "run": str(run_folder),
        "output": str(tmp_path / "out.csv"),
        **make(run_folder, tmp_path),
    }
    with pytest.raises(UserError, match=pattern):
        predict(**{k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items()})
    assert not (tmp_path / "out.csv").exists()


def test_predict_accepts_its_own_output_only_when_complete(run_folder, tmp_path):
    """Sanity check of the fixture: the same run folder predicts fine on good input."""
    report = predict(str(run_folder), str(csv_of(TEXT)(tmp_path)), str(tmp_path / "p.csv"))
    assert report["rows"] == len(TEXT) == report["predicted"]


# -- entry points, where the exit code matters ------------------------------------------------
def assert_no_trusted_output(run: Path) -> None:
    assert not (run / "metrics.json").exists()
    assert not list(run.glob("checkpoints/*.ckpt"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "override,message",
    [
        ("data.batch_size=-3", "data.batch_size must be >= 1, got -3."),
        ("model.hidden_size=-4", "model.hidden_size must be in [1, 16384], got -4"),
    ],
)
def test_train_py_negative_size_exits_2(override, message, tmp_path):
    csv = csv_of(TEXT)(tmp_path)
    done = run_train(*tiny_run_overrides(csv, tmp_path / "o", override))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stdout + done.stderr
    assert_no_trusted_output(tmp_path / "o" / "run")


@pytest.mark.slow
def test_train_py_unknown_option_is_refused_before_anything_runs(tmp_path):
    csv = csv_of(TEXT)(tmp_path)
    done = run_train(*tiny_run_overrides(csv, tmp_path / "o", "data.bach_size=8"))
    assert done.returncode == 1
    assert "Could not override 'data.bach_size'" in done.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_nan_loss_stops_the_run_naming_the_step(tmp_path):
    frame = SEQ.copy()
    frame.loc[frame.sid == "high5", "a"] = 1e39  # finite in float64, inf in float32
    csv = csv_of(frame)(tmp_path)
    out = tmp_path / "o"
    done = run_train(
        "data=sequence_csv",
        f"data.path={csv}",
        "data.id_column=sid",
        "data.step_column=t",
        "data.split_column=split",
        "data.scaler=none",
        "data.batch_size=64",
        "model.embedding_dim=4",
        "model.hidden_size=4",
        f"paths.output_dir={out}",
        f"hydra.run.dir={out}/run",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "trainer.num_sanity_val_steps=0",
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert re.search(
        r"training loss became nan at epoch 0, step \d+: lower optimizer.lr",
        done.stdout + done.stderr,
    )
    assert "Traceback" not in done.stderr
    assert_no_trusted_output(out / "run")


@pytest.mark.slow
def test_predict_py_exit_codes(run_folder, tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, str(ROOT / "predict.py")]
    bad_ckpt = subprocess.run(
        cmd + [f"run={run_folder}", f"input={csv_of(TEXT)(tmp_path)}", "checkpoint=last"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad_ckpt.returncode == 2 and "cannot read checkpoint" in bad_ckpt.stderr
    assert "Traceback" not in bad_ckpt.stderr
    typo = subprocess.run(
        cmd + [f"run={run_folder}", "inptu=x.csv"], capture_output=True, text=True, env=env
    )
    assert typo.returncode == 2 and "unknown argument 'inptu=x.csv'" in typo.stderr
