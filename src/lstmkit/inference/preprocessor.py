"""Read a run's `preprocessor/preprocessor.json` as data: every field typed before any use.

Predict indexes, sizes and scales with these values, so a hand-edited or hostile file must
fail here with the file and the field named, not deep inside pandas or numpy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from lstmkit.data.calendar import FEATURES
from lstmkit.data.tokenization import TokenizerConfig
from lstmkit.errors import DataError


def _text(v: Any) -> bool:
    return isinstance(v, str)


def _maybe_text(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _texts(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _maybe_texts(v: Any) -> bool:  # keys newer than some run folders
    return v is None or _texts(v)


def _maybe_calendar(v: Any) -> bool:
    return v is None or (_texts(v) and all(name in FEATURES for name in v))


def _maybe_size(v: Any) -> bool:
    return v is None or (type(v) is int and 0 <= v <= 10_000_000)


def _count(v: Any) -> bool:
    return type(v) is int and 1 <= v <= 10_000_000


def _maybe_count(v: Any) -> bool:
    return v is None or _count(v)


def _numbers(v: Any) -> bool:
    if isinstance(v, list):
        return all(_numbers(x) for x in v)
    return type(v) in (int, float) or v is None


def _scaler(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and _text(v.get("kind"))
        and _numbers(v.get("center"))
        and _numbers(v.get("scale"))
        and type(v.get("log")) is bool
        and type(v.get("log_columns")) is int
    )


def _tokenizer(v: Any) -> bool:
    known = {f.name for f in fields(TokenizerConfig)}
    return (
        isinstance(v, dict)
        and set(v) <= known
        and all(isinstance(x, (str, int, float, bool)) for x in v.values())
    )


CLASSES = {"labels": _texts, "label_column": _text}
SCHEMAS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "text": {**CLASSES, "text_column": _text, "tokenizer": _tokenizer},
    "sequences": {
        **CLASSES,
        "id_column": _text,
        "step_column": _maybe_text,
        "feature_columns": _texts,
        "scaler": _scaler,
        "patch": _maybe_count,  # absent in runs from before patches: 1
    },
    "timeseries": {
        "time_column": _maybe_text,
        "value_columns": _texts,
        "covariate_columns": _texts,
        "future_columns": _maybe_texts,
        "calendar": _maybe_calendar,
        "future_size": _maybe_size,
        "frequency": _maybe_text,
        "series_column": _maybe_text,
        "series": _texts,
        "input_length": _count,
        "horizon": _count,
        "season": _maybe_count,
        "scaler": _scaler,
        "mase_scale": _numbers,
    },
}


def read_preprocessor(folder: Path) -> dict[str, Any]:
    """The checked preprocessing spec of a run folder (`<folder>/preprocessor/...`)."""
    path = folder / "preprocessor" / "preprocessor.json"
    if not path.is_file():
        raise DataError(f"{folder} has no preprocessor/preprocessor.json; not a complete run.")
    try:
        spec = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e}).") from None
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind not in SCHEMAS:
        raise DataError(f"{path}: unknown preprocessing kind {kind!r}; want {sorted(SCHEMAS)}.")
    bad = [key for key, ok in SCHEMAS[kind].items() if not ok(spec.get(key))]
    if bad:
        raise DataError(
            f"{path}: unexpected value for {', '.join(bad)} (wrong type or range). The file "
            "was edited or not written by train.py; use the run's original preprocessor/."
        )
    return spec
