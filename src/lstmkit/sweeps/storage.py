"""Where a sweep's Optuna study lives."""

from __future__ import annotations

from pathlib import Path


def storage_url(storage: str | None, sweep_dir: str) -> str:
    """The study storage: by default an SQLite file in the sweep folder (absolute path)."""
    if not storage:
        return f"sqlite:///{Path(sweep_dir).resolve() / 'optuna.db'}"
    prefix = "sqlite:///"
    if storage.startswith(prefix) and not storage[len(prefix) :].startswith("/"):
        return prefix + str(Path(storage[len(prefix) :]).resolve())
    return storage
