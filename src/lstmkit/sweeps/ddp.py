"""DDP inside a multirun: each job's extra ranks run that job only, never the whole sweep.

Lightning starts DDP ranks 1..N-1 by re-running `sys.argv` plus `hydra.run.dir`; inside a
`-m` sweep that re-runs the entire sweep on every rank (duplicate sweep folders; with a
sampler, different parameters and a size-mismatch crash). The Hydra callback below swaps in a
command made of the current job's own overrides and folder, and after each job tears the
process group down and clears the rendezvous variables, so the next job starts fresh ranks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import lightning
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from lstmkit.sweeps.jobs import in_multirun

RENDEZVOUS_VARIABLES = ("LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT")


class LightningInternalsMoved(RuntimeError):
    """A private Lightning name this module relies on is gone: DDP sweeps would misbehave."""


def launcher_modules() -> tuple[ModuleType, ModuleType]:
    """Lightning's two launcher modules, each checked to still define `_hydra_subprocess_cmd`.

    Private Lightning API (checked by tests/test_ddp.py against the installed version): Lightning
    calls the module-level name, so replacing it is how a rank gets our command.
    """
    from lightning.fabric.strategies.launchers import subprocess_script as fabric_launcher
    from lightning.pytorch.strategies.launchers import subprocess_script as trainer_launcher

    for module in (trainer_launcher, fabric_launcher):
        if not callable(getattr(module, "_hydra_subprocess_cmd", None)):
            raise LightningInternalsMoved(
                f"{module.__name__}._hydra_subprocess_cmd is gone in lightning "
                f"{lightning.__version__}: DDP inside a Hydra multirun cannot be fixed up. "
                "Use lightning<=2.6, or update lstmkit/sweeps/ddp.py."
            )
    return trainer_launcher, fabric_launcher


def rank_watchers() -> list[Any]:  # Lightning's private _ChildProcessObserver threads
    """Lightning's running `_ChildProcessObserver` threads, checked for the fields we use.

    Private Lightning API (see `launcher_modules`): `_run()` is its check, `_child_processes`
    the ranks it watches.
    """
    try:
        from lightning.fabric.strategies.launchers.subprocess_script import _ChildProcessObserver
    except ImportError as e:
        raise LightningInternalsMoved(
            f"lightning {lightning.__version__} has no _ChildProcessObserver: {e}. "
            "Update lstmkit/sweeps/ddp.py."
        ) from None
    watchers = [t for t in threading.enumerate() if isinstance(t, _ChildProcessObserver)]
    for watcher in watchers:
        if not hasattr(watcher, "_child_processes") or not callable(getattr(watcher, "_run", 0)):
            raise LightningInternalsMoved(
                f"lightning {lightning.__version__}: _ChildProcessObserver lost "
                "_child_processes or _run. Update lstmkit/sweeps/ddp.py."
            )
    return watchers


def job_subprocess_cmd(local_rank: int) -> tuple[Sequence[str], str]:
    """Command and folder for DDP rank `local_rank` of the current sweep job (a single run)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd, to_absolute_path

    import __main__

    hc = HydraConfig.get()
    if __main__.__spec__ is None:
        command = [sys.executable, to_absolute_path(sys.argv[0])]
    else:
        command = [sys.executable, "-m", __main__.__spec__.name]
    command += list(hc.overrides.task)  # this job's own values, no sweep syntax
    command += [
        f"hydra.run.dir={hc.runtime.output_dir}",
        f"hydra.job.name=train_ddp_process_{local_rank}",
        "hydra.output_subdir=null",  # rank 0 already wrote the job's .hydra folder
    ]
    return command, get_original_cwd()


def install() -> None:
    """Point Lightning's DDP launchers at `job_subprocess_cmd` (idempotent)."""
    for module in launcher_modules():
        # a module global Lightning defines; ModuleType declares no attributes
        module._hydra_subprocess_cmd = job_subprocess_cmd  # type: ignore[attr-defined]


def release_ranks(timeout: float = 30.0) -> None:
    """Wait for (or kill) this job's extra ranks and stop Lightning's watcher of them.

    The watcher SIGKILLs the main process when a rank exits non-zero: right for one run, but
    in a sweep a failed job must not take the next jobs down with it.
    """
    for watcher in rank_watchers():
        watcher._run = lambda: True  # its next check ends the thread, whatever the exit codes
        for proc in watcher._child_processes:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:  # e.g. stuck in a collective of a failed job
                proc.kill()
                proc.wait()


def reset_distributed() -> None:
    """End this job's process group and forget its rendezvous, so the next job launches anew."""
    import torch.distributed as dist

    release_ranks()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    for name in RENDEZVOUS_VARIABLES:
        os.environ.pop(name, None)


class DDPInSweeps(Callback):
    """Hydra callback (conf/train.yaml): per-job DDP ranks in sweeps, clean state between jobs."""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if in_multirun():
            install()

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if in_multirun():
            reset_distributed()
