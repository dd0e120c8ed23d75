"""Content-addressed cache of encoded datasets under `outputs/cache/<key>/`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lstmkit

CACHE_FORMAT = 1  # bump when the cached layout or encoding changes


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


def is_complete(folder: Path) -> bool:
    """A cache folder counts only once its atomic rename put `meta.json` in place."""
    return (folder / "meta.json").is_file()
