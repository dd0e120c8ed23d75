"""Process-wide speed settings: the allocator is really tuned, precision follows the CPU."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_train, tiny_run_overrides

from lstmkit.errors import ConfigError
from lstmkit.runtime import cpu_flags, glibc, resolve_precision, resolve_threads, tune_allocator

# How many bytes malloc serves from mmap while a 64 MiB block is held, before and after
# configure_torch: glibc mmaps blocks above 32 MiB by default, never once tuned.
MMAPPED_DELTA = """
import ctypes, json, sys
from lstmkit.runtime import configure_torch, glibc

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = glibc()
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def mmapped_while_holding_64mib():
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(64 << 20)
    delta = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return delta

first = mmapped_while_holding_64mib()
info = configure_torch(1, True, sys.argv[1])
print(json.dumps({"before": first, "after": mmapped_while_holding_64mib(), "info": info}))
"""


def mmapped(mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MMAPPED_DELTA, mode],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": f"{ROOT / 'src'}", "PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    glibc() is None or not hasattr(glibc(), "mallinfo2"), reason="needs glibc >= 2.33"
)
def test_allocator_keeps_large_blocks_in_the_heap_once_tuned():
    tuned = mmapped("auto")
    assert tuned["before"] >= 64 << 20  # glibc's default: a fresh mmap for each large tensor
    assert tuned["after"] == 0
    assert tuned["info"]["allocator"].startswith("glibc mallopt mmap_threshold=1073741824")
    untouched = mmapped("none")
    assert untouched["after"] >= 64 << 20 and untouched["info"]["allocator"] == "default"


def test_precision_auto_follows_the_cpu_and_explicit_values_pass_through():
    has_bf16 = bool({"avx512_bf16", "amx_bf16"} & cpu_flags())
    assert resolve_precision("auto", "cpu") == ("bf16-mixed" if has_bf16 else "32-true")
    assert resolve_precision("auto", "gpu") == "32-true"
    assert resolve_precision("32-true", "cpu") == "32-true"
    assert resolve_precision("bf16-mixed", "gpu") == "bf16-mixed"


def test_a_run_records_its_precision_allocator_and_thread_mode(tmp_path: Path, text_csv: Path):
    done = run_train(*tiny_run_overrides(text_csv, tmp_path, "runtime.threads=1"))
    assert done.returncode == 0, done.stderr[-2000:]
    runtime = json.loads((tmp_path / "run" / "metrics.json").read_text())["runtime"]
    expected = resolve_precision("auto", "cpu")
    assert runtime["precision"] == expected
    assert runtime["threads"] == 1 and runtime["threads_mode"] == "fixed"
    assert "threads_events" not in runtime  # a fixed count: nothing adaptive runs
    if glibc() is not None:
        assert runtime["allocator"].startswith("glibc mallopt")


def test_bad_runtime_values_name_their_config_key():
    with pytest.raises(ConfigError, match=r"runtime\.threads must be >= 1 or 'auto', got 0"):
        resolve_threads(0)
    with pytest.raises(ConfigError, match=r"runtime\.threads .* got 'many'"):
        resolve_threads("many")
    with pytest.raises(ConfigError, match=r"runtime\.allocator must be 'auto' or 'none'"):
        tune_allocator("jemalloc")
    assert resolve_threads("3") == 3 and tune_allocator("none") == "default"
