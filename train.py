"""Train a model: `python train.py model=lstm` (see conf/train.yaml for every option)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.errors import InstantiationException
from omegaconf import DictConfig

from lstmkit.config_checks import instantiation_error
from lstmkit.errors import UserError, disk_error
from lstmkit.pipeline import train
from lstmkit.resume import preflight
from lstmkit.run_dirs import register
from lstmkit.sweeps.jobs import in_multirun, record_failure

log = logging.getLogger("train")
register()  # ${lstmkit.new_dir:...}: the run folder, created once, never shared


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the objective (cfg.objective) so sweepers can optimise it.

    In a sweep a failing job is recorded in its metrics.json and returns NaN, so the other
    jobs go on (sys.exit would end the whole sweep); a single run exits 2 on a user mistake.
    """
    try:
        report = train(cfg)
    except Exception as e:
        if isinstance(e, InstantiationException) and isinstance(e.__cause__, UserError):
            e = e.__cause__  # a data module or task refused its config: the user's mistake
        elif isinstance(e, InstantiationException):  # e.g. a string where a number is needed
            e = instantiation_error(e) or e
        if isinstance(e, OSError):  # a full disk or a read-only folder: name the path
            e = disk_error(e, cfg.paths.run_dir) or e
        if in_multirun():
            failure = record_failure(cfg.paths.run_dir, e)
            failed = failure["status"] == "failed"
            log.log(
                logging.ERROR if failed else logging.INFO,
                "job %s: %s",
                failure["status"],
                failure["error"],
                exc_info=failed and not isinstance(e, UserError),
            )
            return float("nan")
        if isinstance(e, UserError):
            log.error("%s", e)
            sys.exit(e.exit_code)
        raise
    return report["objective"]["value"]


if __name__ == "__main__":
    try:  # resume=: checked before Hydra creates or rewrites anything in the run folder
        sys.argv[1:] = preflight(sys.argv[1:], Path(__file__).parent / "conf")
    except UserError as e:
        print(f"[train][ERROR] - {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    main()
