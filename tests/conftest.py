"""Shared fixtures: a small text CSV, and tiny trained runs that several test files read.

Each run is trained once per test session (seconds, not minutes); tests that read one must not
change its folder. Plain helpers live in helpers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import (
    SEQUENCE_COLUMNS,
    long_frame,
    make_text_frame,
    sales,
    text_run_overrides,
    trained_run,
)


@pytest.fixture
def text_csv(tmp_path: Path) -> Path:
    path = tmp_path / "texts.csv"
    make_text_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BiLSTM text run (3 topics), its cache a miss: test_end_to_end checks that."""
    tmp = tmp_path_factory.mktemp("text_run")
    csv = tmp / "texts.csv"
    make_text_frame().to_csv(csv, index=False)
    out = tmp / "outputs"
    return trained_run(out, *text_run_overrides(csv, out))


@pytest.fixture(scope="session")
def sequence_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sequence classification run on `long_frame` (official train/test split)."""
    tmp = tmp_path_factory.mktemp("sequence_run")
    csv = tmp / "seq.csv"
    long_frame(n_per_class=20).to_csv(csv, index=False)
    return trained_run(
        tmp / "outputs",
        "data=sequence_csv",
        "model=lstm",
        f"data.path={csv}",
        *SEQUENCE_COLUMNS,
        "model.embedding_dim=8",
        "model.hidden_size=8",
        "trainer.max_epochs=6",
        "optimizer.lr=1e-2",
    )


@pytest.fixture(scope="session")
def forecast_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny seq2seq forecast (with attention) of two stores' monthly sales."""
    tmp = tmp_path_factory.mktemp("forecast_run")
    csv = tmp / "sales.csv"
    sales({"a": 72, "b": 72}).to_csv(csv, index=False)
    return trained_run(
        tmp / "outputs",
        "data=timeseries_csv",
        "model=seq2seq",
        f"data.path={csv}",
        "data.time_column=month",
        "data.value_columns=[sales]",
        "data.series_column=store",
        "data.input_length=12",
        "data.horizon=6",
        "model.hidden_size=8",
        "model.attention=true",
        "trainer.max_epochs=2",
    )
