"""Process-wide settings that decide CPU speed: threads, denormals, allocator, precision."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
# Keep freed memory up to these sizes instead of handing it back to the OS after every step.
MALLOPT_SETTINGS = {
    "mmap_threshold": (M_MMAP_THRESHOLD, 1 << 30),
    "trim_threshold": (M_TRIM_THRESHOLD, 2**31 - 1),
    "top_pad": (M_TOP_PAD, 256 << 20),
}
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


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
    """The thread count to start with: a fixed number, or for `auto` a safe first guess.

    `auto` starts at 1 thread on <= 2 cores (cores - 1 above) and lets `AdaptiveThreads`
    (callbacks/adaptive_threads.py) measure the candidates while training: on 2 shared cores
    neither wins every time (2 threads were 1.75x faster idle, 2.2x slower beside a busy
    neighbour).
    """
    if threads in (None, "auto"):
        cpus = available_cpus()
        return 1 if cpus <= 2 else cpus - 1
    try:
        n = int(threads)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        from lstmkit.errors import ConfigError

        raise ConfigError(f"runtime.threads must be >= 1 or 'auto', got {threads!r}.")
    return n


def preloaded_allocator() -> str | None:
    """jemalloc or tcmalloc if one was loaded with LD_PRELOAD (then glibc malloc is not used)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for name in ("jemalloc", "tcmalloc"):
        if f"lib{name}" in maps:
            return name
    return None


def glibc() -> ctypes.CDLL | None:
    """The C library if it is glibc (mallopt / mallinfo2 exist), else None."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


def tune_allocator(mode: str = "auto") -> str:
    """Stop glibc returning large tensors to the OS after each step; return what was done.

    Without it about 30% of a BBC News epoch was system time (page faults re-mapping freed
    tensors); with it an epoch was 1.45x faster. `none` leaves malloc alone.
    """
    if mode == "none":
        return "default"
    if mode != "auto":
        from lstmkit.errors import ConfigError

        raise ConfigError(f"runtime.allocator must be 'auto' or 'none', got {mode!r}.")
    preloaded = preloaded_allocator()
    if preloaded:
        return preloaded
    libc = glibc()
    if libc is None:
        return "default (not glibc)"
    ok = all(libc.mallopt(p, v) == 1 for p, v in MALLOPT_SETTINGS.values())
    if not ok:
        return "default (mallopt refused)"
    return "glibc mallopt " + ",".join(f"{k}={v}" for k, (_, v) in MALLOPT_SETTINGS.items())


def cpu_flags() -> set[str]:
    """CPU feature flags from /proc/cpuinfo (empty where it does not exist)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_bf16() -> bool:
    """True where the CPU has bfloat16 dot-product instructions (AVX512-BF16 or AMX)."""
    return bool(cpu_flags() & set(BF16_CPU_FLAGS))


def resolve_precision(precision: str | int, accelerator: str = "auto") -> str:
    """`auto`: bf16-mixed on CPUs with bf16 instructions, else 32-true; GPUs get 32-true.

    On this project's AVX512-BF16 CPU, bf16 autocast made a BBC News epoch 1.5x faster at the
    same accuracy (docs/speed.md). Any explicit value is passed to Lightning unchanged.
    """
    if str(precision) != "auto":
        return str(precision)
    import torch

    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if on_gpu or not cpu_has_bf16():
        return "32-true"
    return "bf16-mixed"


def configure_torch(
    threads: int | str | None = "auto", flush_denormal: bool = True, allocator: str = "auto"
) -> dict:
    """Apply thread, denormal and allocator settings; return what was applied, for the log.

    Denormal floats in the LSTM backward pass over long sequences made a BBC News epoch about
    20x slower on CPU; flushing them to zero costs no accuracy.
    """
    import torch  # here, so modules that only need available_cpus() stay light to import

    n = resolve_threads(threads)
    torch.set_num_threads(n)
    flushed = bool(flush_denormal) and torch.set_flush_denormal(True)
    if not flush_denormal:
        torch.set_flush_denormal(False)
    info = {
        "threads": n,
        "threads_mode": "adaptive" if threads in (None, "auto") else "fixed",
        "cpus_available": available_cpus(),
        "flush_denormal": flushed,
        "allocator": tune_allocator(allocator),
        "cpu_bf16": cpu_has_bf16(),
    }
    log.info("torch runtime: %s", info)
    return info
