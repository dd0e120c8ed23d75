"""Atomic writes: a reader never sees a half-written file or cache folder."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it into place only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder, published as `target` by one rename if the block succeeds.

    Meant for content-addressed folders (caches): if another process published `target`
    first (parallel sweep jobs encoding the same data), the first writer wins and ours is
    dropped, so no reader ever sees a folder deleted or swapped under it.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, obj: Any) -> None:
    """Write strict JSON atomically (sorted keys, indented, so diffs between runs are readable).

    JSON has no NaN or Infinity (strict readers such as `jq` or browsers reject them): such a
    number is written as null and the log says which key it was and why.
    """
    nonfinite: list[str] = []
    plain = _finite(obj, "", nonfinite)
    if nonfinite:
        log.warning(
            "%s: %s not a finite number; written as null (JSON has no NaN/Infinity)",
            path,
            ", ".join(nonfinite[:10]) + (" ..." if len(nonfinite) > 10 else ""),
        )
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(plain, indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_run_json(folder: str | Path, name: str, missing: str) -> Any:
    """`<folder>/<name>` parsed as JSON (plain data, never objects); a missing or broken file is
    a DataError naming it, with `missing` saying what to do when it is absent."""
    from lstmkit.errors import DataError

    path = Path(folder) / name
    if not path.is_file():
        raise DataError(
            f"{folder} has no {name}: it is not a run folder written by this lstmkit {missing}"
        )
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e}).") from None


def _finite(obj: Any, where: str, found: list[str]) -> Any:
    """`obj` with every NaN / inf float replaced by None; their key paths go to `found`."""
    if isinstance(obj, float) and not math.isfinite(obj):
        found.append(f"{where or '<value>'}={obj}")
        return None
    if isinstance(obj, dict):
        return {k: _finite(v, f"{where}.{k}" if where else str(k), found) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v, f"{where}[{i}]", found) for i, v in enumerate(obj)]
    return obj
