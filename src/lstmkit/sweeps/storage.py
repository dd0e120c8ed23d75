"""Where a sweep's Optuna study lives, and how several sweep processes share it safely.

`hydra.sweeper.storage` takes any Optuna RDB URL (sqlite, postgresql, mysql) or `journal`
(Optuna's journal file in the sweep folder) or `journal:<file>` (a journal file anywhere, e.g.
on a shared file system that several machines mount). Several sweep processes pointed at one
storage and one `study_name` work on one study: each pulls the next trial from it.

What Optuna does not make safe on its own, done here with Optuna's own pieces:
- two processes creating a new SQLite schema at once: one dies in SQLAlchemy ("table studies
  already exists", a UNIQUE constraint on alembic_version); creation is retried;
- "count the trials, then ask one more" is a read-then-write: with a file-backed study it runs
  under Optuna's journal lock (an `O_EXCL` lock file, safe on NFS), so `n_trials` is exact.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

JOURNAL = "journal"
SQLITE = "sqlite:///"
CREATE_ATTEMPTS = 6


def storage_url(storage: str | None, sweep_dir: str) -> str:
    """The study storage as an absolute URL: by default an SQLite file in the sweep folder.

    `journal` means `<sweep folder>/optuna.journal`; a relative file path (`sqlite:///x.db`,
    `journal:x.journal`) is taken from the current folder, so every process resolves it alike.
    """
    if not storage:
        return SQLITE + str(Path(sweep_dir).resolve() / "optuna.db")
    storage = str(storage)
    if storage == JOURNAL:
        return f"{JOURNAL}:{Path(sweep_dir).resolve() / 'optuna.journal'}"
    if storage.startswith(f"{JOURNAL}:"):
        return f"{JOURNAL}:{Path(storage[len(JOURNAL) + 1 :]).resolve()}"
    if storage.startswith(SQLITE) and not storage[len(SQLITE) :].startswith("/"):
        return SQLITE + str(Path(storage[len(SQLITE) :]).resolve())
    return storage


def study_file(url: str) -> Path | None:
    """The file that holds a file-backed study (SQLite, journal), else None (a server)."""
    if url.startswith(f"{JOURNAL}:"):
        return Path(url[len(JOURNAL) + 1 :])
    if url.startswith(SQLITE) and url[len(SQLITE) :] != ":memory:":
        return Path(url[len(SQLITE) :].split("?", 1)[0])
    return None


def open_storage(url: str) -> Any:
    """What `optuna.create_study(storage=...)` takes: a journal storage object, or the URL."""
    file = study_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith(f"{JOURNAL}:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(str(file)))
    return url


@contextmanager
def study_lock(url: str) -> Iterator[None]:
    """Hold the study's sweeper lock (a lock file beside a file-backed study; none for servers).

    Optuna's own journal lock class: creation with O_EXCL, and a lock left by a killed process
    is broken after 30 s. It is a different file from the journal's own append lock.
    """
    file = study_file(url)
    if file is None:
        yield
        return
    from optuna.storages.journal import JournalFileOpenLock

    file.parent.mkdir(parents=True, exist_ok=True)
    lock = JournalFileOpenLock(str(file) + ".sweeper", grace_period=30)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def create_or_load_study(url: str, study_name: str, **options: Any) -> Any:
    """`optuna.create_study(load_if_exists=True)`, retried on the schema-creation race."""
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return optuna.create_study(
                study_name=study_name, storage=open_storage(url), load_if_exists=True, **options
            )
        except (OperationalError, IntegrityError) as e:  # another process made the schema
            if attempt == CREATE_ATTEMPTS:
                raise
            log.info("study storage %s busy (%s); retrying", url, type(e).__name__)
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def load_study(url: str, study_name: str, **options: Any) -> Any:
    """An existing study (pruner or sampler in `options`); KeyError if it does not exist."""
    import optuna

    return optuna.load_study(study_name=study_name, storage=open_storage(url), **options)


def study_names(url: str) -> list[str]:
    """The names of the studies a storage holds (for a message naming the choices)."""
    import optuna

    return sorted(optuna.get_all_study_names(open_storage(url)))


def worker_id() -> str:
    """`<host>:<pid>` of this sweep process, recorded on every trial it asks for."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_alive(worker: str | None) -> bool | None:
    """Whether the process that owns a trial still runs: None when it ran on another host."""
    if not worker:
        return False  # a trial from before owners were recorded: its sweep is gone
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True
