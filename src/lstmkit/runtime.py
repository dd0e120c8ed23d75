"""Process-wide torch settings that decide CPU speed: thread count and denormal flushing."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota if one is set."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def resolve_threads(threads: int | str | None) -> int:
    """`auto` leaves one core free for the data loader and the OS once there are more than two.

    On 2 cores an LSTM step with 2 OpenMP threads, while anything else runs, was measured 50x
    slower than with 1 thread (oversubscription), so `auto` uses 1 thread there.
    """
    if threads in (None, "auto"):
        cpus = available_cpus()
        return 1 if cpus <= 2 else cpus - 1
    n = int(threads)
    if n < 1:
        from lstmkit.errors import ConfigError

        raise ConfigError(f"runtime.threads must be >= 1 or 'auto', got {threads!r}.")
    return n


def configure_torch(threads: int | str | None = "auto", flush_denormal: bool = True) -> dict:
    """Apply thread and denormal settings; return what was applied so the run can log it.

    Denormal floats in the LSTM backward pass over long sequences made a BBC News epoch about
    20x slower on CPU; flushing them to zero costs no accuracy.
    """
    import torch  # here, so modules that only need available_cpus() stay light to import

    n = resolve_threads(threads)
    torch.set_num_threads(n)
    flushed = bool(flush_denormal) and torch.set_flush_denormal(True)
    if not flush_denormal:
        torch.set_flush_denormal(False)
    info = {"threads": n, "cpus_available": available_cpus(), "flush_denormal": flushed}
    log.info("torch runtime: %s", info)
    return info
