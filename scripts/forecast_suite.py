"""The forecasting cases of the development suite: an alias of `scripts/suite.py`.

    python scripts/forecast_suite.py [--seeds 2] [--override model.quantiles=[0.1,0.5,0.9]]

Runs airline, sunspots, lynx, shampoo and Nile through `scripts/suite.py` (every option of
that script is accepted), so there is one suite, one set of cases and one ETS.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.suite.cases import CASES  # noqa: E402

if __name__ == "__main__":
    forecasts = ",".join(name for name, case in CASES.items() if case.kind == "forecast")
    sys.argv = [str(ROOT / "scripts" / "suite.py"), "--cases", forecasts, *sys.argv[1:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
