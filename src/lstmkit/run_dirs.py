"""Run folders that never collide: `${lstmkit.new_dir:<path>}` in conf/train.yaml.

Two runs started in the same second used to get the same `%Y-%m-%d_%H-%M-%S` folder and
write into each other. The resolver creates the folder itself with one `mkdir` (atomic: of
two processes exactly one succeeds) and takes `<path>_1`, `<path>_2`, ... when it is taken.
Hydra resolves `hydra.run.dir` more than once in a process (Lightning's DDP launcher reads it
again), so each path is reserved once per process; DDP ranks are relaunched with the folder
given explicitly and never reach this resolver.

`hydra.sweep.dir` uses it too (two sweeps in the same second shared one multirun folder and
overwrote each other's jobs). A sweep's jobs resolve that folder again, in other processes
with the joblib and submitit launchers; the resolver is cached, and Hydra copies the sweep's
resolver cache into every job's config (`OmegaConf.copy_cache`), so each job gets the folder
the sweep created instead of reserving a new one.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from omegaconf import OmegaConf

RESOLVER = "lstmkit.new_dir"
_reserved: dict[str, str] = {}


def new_dir(path: str) -> str:
    """Create and return a folder that did not exist: `path`, else `path_<n>` (n = 1, 2, ...)."""
    if path in _reserved:
        return _reserved[path]
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count():
        candidate = base if n == 0 else base.with_name(f"{base.name}_{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        _reserved[path] = str(candidate)
        return str(candidate)
    raise AssertionError("unreachable")


def register() -> None:
    """Make `${lstmkit.new_dir:...}` known to OmegaConf (idempotent)."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, new_dir, use_cache=True)


register()  # importing lstmkit's pipeline in a launcher's job process makes it known there too
