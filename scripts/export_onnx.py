"""Export a trained run to ONNX: `python scripts/export_onnx.py run=<run dir> output=model.onnx`.

Checks the exported file in onnxruntime against PyTorch and prints the max difference.
Options: run, output (default <run dir>/model.onnx), checkpoint (best | last | path),
quantize (true: also write <output stem>.int8.onnx, onnxruntime's dynamic int8 quantisation;
1.25x the fp32 model's docs/s on BBC News at the same validation accuracy, docs/scale.md).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from lstmkit.errors import UserError
from lstmkit.inference.export import export_onnx
from lstmkit.inference.predict import flag

OPTIONS = ("run", "output", "checkpoint", "quantize")


def main(args: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    options = dict(a.partition("=")[::2] for a in args)
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown or "run" not in options:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        result = export_onnx(
            options["run"],
            options.get("output") or Path(options["run"]) / "model.onnx",
            options.get("checkpoint", "best"),
            quantize=flag(options.get("quantize", "false"), "quantize"),
        )
    except UserError as e:
        logging.getLogger("export").error("%s", e)
        return e.exit_code
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
