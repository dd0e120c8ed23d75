r"""Predict with a trained run: `python predict.py run=<run dir> input=new.csv output=preds.csv`.

Options (key=value): run, input, output (default <input>.predictions.csv; never the input),
checkpoint (best | last | a .ckpt path), batch_size, text_column, encoding (e.g. utf-16),
delimiter (one character; \t or tab for tabs), threads, keep_text (true: keep the text
column in the output), id_column (the key column to join results back by: put first; rows
with a missing or duplicated key are reported), chunk_mb and stream_above_mb (a text input
over stream_above_mb, default 64, is predicted chunk_mb, default 16, at a time), precision
(fp32 | bf16 | int8: the network in bfloat16 or with int8 dynamic-quantised weights).
See docs/inputs.md and docs/scale.md.
"""

from __future__ import annotations

import logging
import sys

from lstmkit.errors import UserError, disk_error
from lstmkit.inference.predict import predict

OPTIONS = (
    "run",
    "input",
    "output",
    "checkpoint",
    "batch_size",
    "text_column",
    "encoding",
    "delimiter",
    "threads",
    "keep_text",
    "id_column",
    "chunk_mb",
    "stream_above_mb",
    "precision",
)
REQUIRED = ("run", "input")


def parse(args: list[str]) -> dict[str, str]:
    """`key=value` arguments, like train.py's overrides; a typo is an error, not ignored."""
    options: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or key not in OPTIONS:
            raise UserError(f"unknown argument {arg!r}; use key=value with key in {OPTIONS}.")
        options[key] = value
    missing = [k for k in REQUIRED if k not in options]
    if missing:
        raise UserError(
            f"missing {', '.join(f'{k}=...' for k in missing)}. Usage: "
            "python predict.py run=<run dir> input=<file.csv> [output=<file.csv>]"
        )
    return options


def main(args: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    try:
        try:
            predict(**parse(args))
        except OSError as e:  # a full disk or a read-only folder for the output: name the path
            raise (disk_error(e) or e) from None
    except UserError as e:
        logging.getLogger("predict").error("%s", e)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
