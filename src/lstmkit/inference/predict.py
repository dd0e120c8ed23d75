"""Predict on a new CSV with a finished run: the run's checkpoint, the run's preprocessing."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from lstmkit.atomic import atomic_path, write_json
from lstmkit.config_checks import WHOLE, check_value
from lstmkit.errors import ConfigError
from lstmkit.inference.keys import key_first
from lstmkit.inference.run import load_run
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
) -> dict[str, Any]:
    """Write predictions for every row (or series) of `input` to `output`; return the report.

    Rows it cannot use keep a row in the output with their status, and are counted and named
    by line in the report (`<output>.report.json` and the log), never silently dropped.
    Text runs: `keep_text` keeps the text column; `id_column` puts that key column first and
    reports rows whose key is missing or duplicated.
    """
    batch_size = whole_number(batch_size, "batch_size")
    out = output_path(input, output)
    started = time.perf_counter()
    configure_torch(threads)
    loaded = load_run(run, checkpoint)
    kind = loaded.spec["kind"]
    if text_column and kind != "text":
        raise ConfigError(f"text_column= applies to text runs only; {run} is a {kind} run.")
    keep_text = flag(keep_text, "keep_text")
    if (keep_text or id_column) and kind != "text":
        raise ConfigError(f"keep_text= and id_column= apply to text runs; {run} is a {kind} run.")
    if kind == "text":
        from lstmkit.inference.text import classify_texts

        frame, report = classify_texts(
            loaded, input, text_column, batch_size, encoding, delimiter, keep_text
        )
        if id_column:
            frame = key_first(frame, id_column, report, input)
    elif kind == "sequences":
        from lstmkit.inference.sequences import classify_sequences

        frame, report = classify_sequences(loaded, input, batch_size, encoding, delimiter)
    else:
        from lstmkit.inference.timeseries import forecast_series

        frame, report = forecast_series(loaded, input, batch_size, encoding, delimiter)
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False)
    summary = {
        **report.to_dict(),
        "kind": kind,
        "input": str(input),
        "output": str(out),
        "checkpoint": str(loaded.checkpoint),
        "threads": torch.get_num_threads(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_json(out.with_name(out.name + ".report.json"), summary)
    report.log(str(input))
    log.info("wrote %s (%d rows) in %.2fs", out, len(frame), summary["seconds"])
    return summary
