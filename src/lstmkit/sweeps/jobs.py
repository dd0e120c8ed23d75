"""What a sweep job leaves behind when it fails, so the sweep goes on and the summary says why."""

from __future__ import annotations

import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from lstmkit.atomic import write_json


def in_multirun() -> bool:
    """True inside a `-m` sweep job, where one failing job must not end the whole sweep."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def record_failure(run_dir: str | Path, error: BaseException) -> dict:
    """Write metrics.json with status `failed` (or the error's `job_status`, e.g. `pruned`)."""
    status = getattr(error, "job_status", "failed")
    report = {
        "status": status,
        "error": f"{type(error).__name__}: {error}".strip(),
        "traceback": "".join(traceback.format_exception(error))[-4000:],
    }
    write_json(Path(run_dir) / "metrics.json", report)
    return report
