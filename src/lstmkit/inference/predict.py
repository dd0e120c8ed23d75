"""Predict on a new CSV with a finished run: the run's checkpoint, the run's preprocessing."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from lstmkit.atomic import atomic_path, write_json
from lstmkit.config_checks import WHOLE, check_value
from lstmkit.errors import ConfigError
from lstmkit.inference.keys import KeyColumn
from lstmkit.inference.precision import for_inference
from lstmkit.inference.report import PredictReport
from lstmkit.inference.run import LoadedRun, load_run
from lstmkit.runtime import configure_torch

log = logging.getLogger(__name__)


def flag(value: bool | str, name: str) -> bool:
    """`true` / `false` from the command line (or a bool from Python)."""
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise ConfigError(f"{name} must be true or false, got {value!r}.")
    return str(value).lower() == "true"


def whole_number(value: str | int, key: str) -> int:
    """A command-line number as an int, or a ConfigError naming `key`."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a whole number >= 1, got {value!r}.") from None
    check_value(key, number, WHOLE)
    return number


def output_path(input: str, output: str | None) -> Path:
    """`<input>.predictions.csv` by default; never the input itself (its rows would be lost)."""
    out = Path(output) if output else Path(input).with_suffix(".predictions.csv")
    written = (out, out.with_name(out.name + ".report.json"))
    if any(Path(input).resolve() == path.resolve() for path in written):
        raise ConfigError(
            f"output={out} would overwrite the input {input}; give another output=<file.csv> "
            "(the default is <input>.predictions.csv)."
        )
    return out


def predict(
    run: str,
    input: str,
    output: str | None = None,
    checkpoint: str = "best",
    batch_size: int = 256,
    text_column: str | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
    threads: str | int = "auto",
    keep_text: bool | str = False,
    id_column: str | None = None,
    chunk_mb: float | str = 16,
    stream_above_mb: float | str = 64,
    precision: str = "fp32",
) -> dict[str, Any]:
    """Write predictions for every row (or series) of `input` to `output`; return the report.

    Rows it cannot use keep a row in the output with their status, and are counted and named
    by line in the report (`<output>.report.json` and the log), never silently dropped.
    Text runs: `keep_text` keeps the text column; `id_column` puts that key column first and
    reports rows whose key is missing or duplicated. A text input over `stream_above_mb`
    is read, predicted and written `chunk_mb` at a time (the output is renamed into place at
    the end), so memory follows the chunk, not the file. `precision` (fp32 | bf16 | int8)
    runs the network in another number format (`inference/precision.py`).
    """
    batch_size = whole_number(batch_size, "batch_size")
    out = output_path(input, output)
    started = time.perf_counter()
    configure_torch(threads)
    loaded = load_run(run, checkpoint)
    loaded.net = for_inference(loaded.net, precision)
    kind = loaded.spec["kind"]
    if text_column and kind != "text":
        raise ConfigError(f"text_column= applies to text runs only; {run} is a {kind} run.")
    keep_text = flag(keep_text, "keep_text")
    if (keep_text or id_column) and kind != "text":
        raise ConfigError(f"keep_text= and id_column= apply to text runs; {run} is a {kind} run.")
    if kind == "text":
        streamed = Path(input).is_file() and Path(input).stat().st_size > megabytes(
            stream_above_mb, "stream_above_mb"
        ) * (1 << 20)
        chunks = _text_chunks(
            loaded,
            input,
            text_column,
            batch_size,
            (encoding, delimiter),
            keep_text,
            megabytes(chunk_mb, "chunk_mb") if streamed else None,
        )
        report = _write_chunks(chunks, out, KeyColumn(id_column, input) if id_column else None)
    else:
        if kind == "sequences":
            from lstmkit.inference.sequences import classify_sequences

            frame, report = classify_sequences(loaded, input, batch_size, encoding, delimiter)
        else:
            from lstmkit.inference.timeseries import forecast_series

            frame, report = forecast_series(loaded, input, batch_size, encoding, delimiter)
        _write_chunks(iter([(frame, report)]), out, None)
    summary = {
        **report.to_dict(),
        "kind": kind,
        "input": str(input),
        "output": str(out),
        "checkpoint": str(loaded.checkpoint),
        "threads": torch.get_num_threads(),
        "precision": precision,
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_json(out.with_name(out.name + ".report.json"), summary)
    report.log(str(input))
    log.info("wrote %s (%d rows) in %.2fs", out, report.rows, summary["seconds"])
    return summary


def megabytes(value: float | str, key: str) -> float:
    """A command-line size in MB, or a ConfigError naming `key`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number >= 0:
        raise ConfigError(f"{key} must be a number of megabytes >= 0, got {value!r}.")
    return number


def _text_chunks(
    run: LoadedRun,
    input: str,
    text_column: str | None,
    batch_size: int,
    read: tuple[str, str],
    keep_text: bool,
    chunk_mb: float | None,
) -> Iterator[tuple[pd.DataFrame, PredictReport]]:
    """The whole file as one chunk, or (`chunk_mb` given) `chunk_mb` at a time."""
    from lstmkit.inference.text import classify_text_chunks, classify_texts

    if chunk_mb is None:
        yield classify_texts(run, input, text_column, batch_size, *read, keep_text)
    else:
        log.info("%s: predicting %g MB at a time", input, chunk_mb)
        yield from classify_text_chunks(
            run, input, text_column, batch_size, *read, keep_text, chunk_mb
        )


def _write_chunks(
    chunks: Iterator[tuple[pd.DataFrame, PredictReport]], out: Path, key: KeyColumn | None
) -> PredictReport:
    """Append each chunk's rows to one CSV as they come; renamed into place when all are in."""
    total = PredictReport()
    with atomic_path(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        for i, (frame, report) in enumerate(chunks):
            if key is not None:
                frame = key.first(frame)
            frame.to_csv(f, index=False, header=i == 0)
            total.merge(report)
    if key is not None:
        key.report(total)
    return total
