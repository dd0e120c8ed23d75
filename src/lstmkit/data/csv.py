"""Read a user's CSV with errors that name the file, the line and what to do about it.

`option` is how the caller's user spells the reading options: `data.` for train.py
(`data.encoding=...`), empty for predict.py (`encoding=...`), so every hint is one they can type.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from lstmkit.errors import ConfigError, DataError

TAB_NAMES = ("\\t", "tab", "\t")  # a tab cannot be typed on a command line without quoting
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def delimiter_char(delimiter: str, option: str = "data.") -> str:
    """One character; `\\t` or `tab` mean a tab."""
    if delimiter in TAB_NAMES:
        return "\t"
    if len(delimiter) != 1:
        raise ConfigError(
            f"{option}delimiter must be one character, got {delimiter!r}; write "
            f"{option}delimiter=\\t (or tab) for a tab, {option}delimiter=';' for a semicolon."
        )
    return delimiter


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def sniff_encoding(path: Path, encoding: str, option: str = "data.") -> None:
    """A UTF-16/32 file read as UTF-8 looks like one column of garbage: say what it is."""
    try:
        if not _is_utf8(encoding):
            return
    except LookupError:
        raise ConfigError(
            f"{option}encoding={encoding!r} is not a known text encoding; use e.g. utf-8, "
            "utf-16 or latin-1."
        ) from None
    with path.open("rb") as f:
        head = f.read(4096)
    found = next((name for bom, name in BOMS if head.startswith(bom)), None)
    why = "it starts with a byte-order mark"
    if found is None and head.count(b"\x00") > len(head) // 4:
        found, why = "utf-16", "every other byte is zero"
    if found:
        raise DataError(
            f"{path} is not UTF-8: it looks like {found.upper()} ({why}). Pass "
            f"{option}encoding={found}, or re-save the file as UTF-8."
        )


def _first_bad_utf8_line(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        return f"line {line} (byte {e.start}: {raw[e.start : e.start + 4]!r})"
    return "an unknown line"


def _field_count_error(path: Path, encoding: str, delimiter: str) -> str | None:
    """The first line whose field count differs from the header's, found with Python's csv."""
    text = path.read_text(encoding=encoding, errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    start = reader.line_num + 1
    for row in reader:
        if row and len(row) != len(header):
            fields = f"{len(row)} field(s) where the header has {len(header)}"
            if reader.line_num > start and any("\n" in field for field in row):
                span = f"lines {start}-{reader.line_num}"
                return f"{span} read as one row of {fields}: a quote opened there is never closed"
            return f"line {reader.line_num} has {fields}"
        start = reader.line_num + 1
    return None


def _read_table(path: Path, encoding: str, delimiter: str) -> pa.Table:
    # Arrow's multi-threaded reader: 0.5 s for a 190 MB file where pandas' C parser took
    # 3.3 s; quoted fields may hold newlines (articles do)
    def read(block_size: int | None = None) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=block_size),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),  # empty = missing
        )

    try:
        return read()
    except pa.ArrowInvalid as e:  # a row longer than Arrow's 1 MB block: one block for all
        if "straddling" not in str(e):
            raise
        return read(min(path.stat().st_size + 1, 2**31 - 1))


def _parse_error(path: Path, e: Exception, encoding: str, delimiter: str, option: str) -> DataError:
    text = str(e)
    if "Empty CSV file" in text:
        return DataError(f"{path} has no header row and no data.")
    if isinstance(e, UnicodeError) or "UTF8" in text or "utf-8" in text.lower():
        where = _first_bad_utf8_line(path, encoding)
        return DataError(
            f"{path} is not valid {encoding} text at {where}. Re-save it as UTF-8 or set "
            f"{option}encoding=<its encoding> (for example latin-1)."
        )
    if re.search(r"Expected \d+ columns, got \d+", text):
        bad = _field_count_error(path, encoding, delimiter)
        if bad:
            return DataError(
                f"{path}: {bad}. Quote fields that contain the delimiter {delimiter!r} "
                f"(or set {option}delimiter), or fix that row."
            )
    return DataError(
        f"Cannot parse {path} as CSV: {text.splitlines()[0]}. Check quoting and the "
        f"delimiter ({option}delimiter)."
    )


def _checked_file(path: Path, encoding: str, delimiter: str, option: str) -> str:
    """Refuse a missing, empty or mis-encoded file; return the delimiter as one character."""
    where = f"{option}path=<file>" if option else "input=<file>"
    if not path.exists():
        raise DataError(f"CSV file not found: {path}. Check the path or set {where}.")
    if path.is_dir():
        raise DataError(f"{path} is a directory, not a CSV file. Set {where}.")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes). It needs a header row and data rows.")
    delimiter = delimiter_char(delimiter, option)
    sniff_encoding(path, encoding, option)
    return delimiter


def _check_columns(path: Path, names: list[str], required: dict[str, str], option: str) -> None:
    """Duplicate header names and missing required columns, each named with what to do."""
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        at = {n: [i + 1 for i, m in enumerate(names) if m == n] for n in dups}
        raise DataError(
            f"{path}: duplicate column name(s) in the header: "
            + ", ".join(f"{n!r} (columns {at[n]})" for n in dups)
            + ". Rename them so each column has its own name."
        )
    missing = {key: col for key, col in required.items() if col not in names}
    if missing:
        hint = (
            f" It looks like a different delimiter; set {option}delimiter (\\t for tabs)."
            if len(names) == 1
            else ""
        )
        wrong = ", ".join(f"{key}={col!r}" for key, col in missing.items())
        raise DataError(
            f"{path}: column(s) not found: {wrong}. The file has columns {names}.{hint} "
            f"Point the setting(s) at existing columns."
        )


def _has_binary(schema: pa.Schema) -> bool:
    """Arrow reads a column with invalid text as raw bytes."""
    return any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in schema)


def read_csv(
    path: str | Path,
    required: dict[str, str],
    encoding: str = "utf-8",
    delimiter: str = ",",
    option: str = "data.",
) -> pd.DataFrame:
    """Read `path` into an Arrow-backed DataFrame and check the `required` columns exist.

    `required` maps a config key (e.g. "data.text_column") to the column name it holds, so a
    missing column is reported together with the setting that names it.
    """
    path = Path(path)
    delimiter = _checked_file(path, encoding, delimiter, option)
    try:
        table = _read_table(path, encoding, delimiter)
        if _has_binary(table.schema):
            raise UnicodeError
    except (UnicodeError, pa.ArrowInvalid, ValueError) as e:
        raise _parse_error(path, e, encoding, delimiter, option) from None
    _check_columns(path, table.column_names, required, option)
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    if len(frame) == 0:
        raise DataError(f"{path} has a header but no data rows.")
    return frame


def _open_stream(
    path: Path, encoding: str, delimiter: str, block: int, columns: list[str] | None = None
) -> pacsv.CSVStreamingReader:
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    if columns is not None:  # as text: no type guessed from the first block for all the others
        convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            include_columns=columns,
            strings_can_be_null=True,
        )
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding, block_size=block),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=convert,
    )


def read_csv_chunks(
    path: str | Path,
    required: dict[str, str],
    encoding: str = "utf-8",
    delimiter: str = ",",
    option: str = "data.",
    chunk_mb: float = 16,
    columns: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """`read_csv` a block of about `chunk_mb` at a time: memory follows the chunk, not the file.

    Every column is read as text (a later block could disagree with a type guessed from the
    first); `columns` picks the ones to read (default all). Each frame's index is its rows'
    position in the file, so `file_rows` names the right lines.
    """
    path = Path(path)
    delimiter = _checked_file(path, encoding, delimiter, option)
    start = 0
    try:
        names = _open_stream(path, encoding, delimiter, 1 << 20).schema.names
        _check_columns(path, names, required, option)
        reader = _open_stream(
            path, encoding, delimiter, int(chunk_mb * (1 << 20)), columns or names
        )
        for batch in reader:
            if _has_binary(batch.schema):
                raise UnicodeError
            frame = batch.to_pandas(types_mapper=pd.ArrowDtype)
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
    except (UnicodeError, pa.ArrowInvalid, ValueError) as e:
        raise _parse_error(path, e, encoding, delimiter, option) from None
    if start == 0:
        raise DataError(f"{path} has a header but no data rows.")


def file_rows(index: pd.Index | list[int], limit: int = 5) -> str:
    """Describe data rows by their line number in the file (header is line 1)."""
    return describe_lines([int(i) + 2 for i in list(index)[:limit]], len(index), limit)


def describe_lines(lines: list[int], total: int, limit: int = 5) -> str:
    """`line(s) 2, 5 and 3 more`: the first `limit` of `lines`, of `total` in all."""
    more = f" and {total - limit} more" if total > limit else ""
    return f"line(s) {', '.join(map(str, lines[:limit]))}{more}"
