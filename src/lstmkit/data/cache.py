"""Content-addressed cache of encoded datasets under `outputs/cache/<key>/`.

An entry is written into a temporary folder beside it and published by one rename, with a
manifest of every file's size written last. A reader trusts an entry only if the manifest is
there and every file still has its size, so a truncated array is found before numpy trips on
it. A writer holds a lock on its temporary folder while it works: a folder whose lock nobody
holds was left by a killed process and is removed by the next run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lstmkit
from lstmkit.atomic import atomic_dir

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # bump when the cached layout or encoding changes (2: manifest.json)
MANIFEST = "manifest.json"
WRITER_LOCK = "writer.lock"
UNLOCKED_AGE_S = 3600.0  # a temporary folder without a lock file is stale after this long


def file_fingerprint(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hash of the file's bytes: a changed file never hits a stale cache, a touched one does."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_key(config: dict[str, Any], path: str | Path) -> str:
    """Key from everything that changes the encoded arrays: data config, file bytes, code format."""
    payload = {
        "config": config,
        "file": file_fingerprint(path),
        "format": CACHE_FORMAT,
        "version": lstmkit.__version__,
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.blake2b(blob, digest_size=12).hexdigest()


def damage(folder: Path) -> str | None:
    """Why the entry at `folder` cannot be used (None: it is complete and intact)."""
    if not folder.is_dir():
        return "the folder is gone"
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return f"{MANIFEST} is missing"
    except ValueError:
        return f"{MANIFEST} is unreadable"
    for name, size in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} has {path.stat().st_size} bytes, {size} were written"
    return None


def discard(folder: Path) -> None:
    """Take a damaged entry out of the way in one rename, then delete it.

    Checked again first: another process may have just replaced it with a whole one.
    """
    if damage(folder) is None:
        return
    aside = folder.with_name(f".{folder.name}.damaged-{os.getpid()}.tmp")
    try:
        os.rename(folder, aside)
    except FileNotFoundError:  # another process discarded it first
        return
    shutil.rmtree(aside, ignore_errors=True)


def publish(folder: Path, build: Callable[[Path], None]) -> None:
    """Run `build(tmp)` and publish `tmp` as `folder` with its manifest (first writer wins)."""
    remove_stale_temporaries(folder.parent)
    with atomic_dir(folder) as tmp, _writer_lock(tmp):
        build(tmp)
        files = {
            str(p.relative_to(tmp)): p.stat().st_size
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.name != WRITER_LOCK
        }
        (tmp / MANIFEST).write_text(json.dumps({"files": files}, indent=2))


@contextmanager
def _writer_lock(tmp: Path) -> Iterator[None]:
    """Hold a lock inside `tmp` while writing; unlinked before release, so it never publishes."""
    lock = tmp / WRITER_LOCK
    fd = os.open(lock, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def _abandoned(tmp: Path, unlocked_age_s: float) -> bool:
    """True when the process that wrote `tmp` is gone (its lock is free, its file still there)."""
    lock = tmp / WRITER_LOCK
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:  # killed before it took the lock, or an older kind of leftover
        try:
            return time.time() - tmp.stat().st_mtime > unlocked_age_s
        except FileNotFoundError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live writer
    else:
        # a writer that finished unlinked its lock before releasing it; one that died did not
        try:
            return os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False
    finally:
        os.close(fd)


def remove_stale_temporaries(cache_dir: Path, unlocked_age_s: float = UNLOCKED_AGE_S) -> list[Path]:
    """Delete the temporary folders that killed writers left in `cache_dir`; return them."""
    removed = []
    for tmp in sorted(cache_dir.glob(".*.tmp")) if cache_dir.is_dir() else []:
        if tmp.is_dir() and _abandoned(tmp, unlocked_age_s):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
            log.warning("removed %s, an unfinished cache write of a killed run", tmp)
    return removed
