"""User-facing errors: a message that names the file, column or row and says what to do."""

from __future__ import annotations

import errno
from pathlib import Path


class UserError(Exception):
    """A mistake in the user's data or config; printed without a traceback by the entry points."""

    exit_code = 2


class DataError(UserError):
    """The input data cannot be used as it is."""


class ConfigError(UserError):
    """A config value is invalid or inconsistent."""


FULL = {errno.ENOSPC, errno.EDQUOT}
NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}
NOT_A_FOLDER = {errno.ENOTDIR, errno.EEXIST}


def disk_error(e: OSError, run_dir: str | Path | None = None) -> UserError | None:
    """A full, read-only or blocked path as a user error naming it; None for other OSErrors.

    With `run_dir` holding a last.ckpt the message says how to continue the run in place.
    """
    if e.errno in FULL:
        what = "the disk is full (or over quota). Free space"
    elif e.errno in NOT_WRITABLE:
        what = "it is not writable (read-only or not yours). Make it writable, or choose another "
        what += "folder (paths.output_dir=<folder>)"
    elif e.errno in NOT_A_FOLDER:
        what = "a file stands where a folder is needed. Move it, or choose another folder"
    else:
        return None
    path = e.filename or "a file"
    then, run = "run again", ""
    if run_dir is not None:  # a library's temporary file may be all the error names
        run = f" (run folder {run_dir})"
        if (Path(run_dir) / "checkpoints" / "last.ckpt").is_file():
            then = f"continue this run with: python train.py resume={run_dir}"
    return UserError(f"cannot write {path}{run}: {what}, then {then}.")
