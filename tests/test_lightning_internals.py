"""The private Lightning names `lstmkit.sweeps.ddp` relies on still exist and still work.

Lightning's version range is wide (`lightning>=2.4,<3`); when a release moves one of these
names, this test fails first, naming it, instead of DDP sweeps misbehaving quietly.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

from lstmkit.sweeps.ddp import launcher_modules, rank_watchers, release_ranks


def test_the_rank_command_hook_is_a_module_level_function_of_local_rank():
    for module in launcher_modules():
        params = list(inspect.signature(module._hydra_subprocess_cmd).parameters)
        assert params == ["local_rank"], module.__name__
        assert "_hydra_subprocess_cmd(" in inspect.getsource(module)  # called by that name


def test_the_rank_watcher_is_found_and_released():
    from lightning.fabric.strategies.launchers.subprocess_script import _ChildProcessObserver

    rank = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    watcher = _ChildProcessObserver(main_pid=os.getpid(), child_processes=[rank])
    watcher.daemon = True
    watcher.start()
    assert watcher in rank_watchers()
    release_ranks(timeout=30)
    assert rank.returncode == 0
    assert watcher._run() is True  # replaced: its next check ends the thread, never kills us
