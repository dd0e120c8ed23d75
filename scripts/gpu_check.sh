#!/usr/bin/env bash
# The GPU checks, in under 5 minutes on one GPU:
#   1. bench section 5: batching variants on CUDA (fp32 and bf16 autocast), the packed cuDNN
#      path's tokens/s against a kernel-only cuDNN BiLSTM, padded-vs-packed exactness;
#   2. a 2-epoch BBC News run with train.py (accelerator auto -> GPU);
#   3. the exactness tests on CUDA (tests/test_recurrent.py -k cuda).
# Without CUDA each part says it is skipped and the script still exits 0.
# Usage: scripts/gpu_check.sh   (PYTHON=... to pick the interpreter; OUT=... for results)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-outputs/gpu_check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"

if "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  CUDA=1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
else
  CUDA=0
  echo "gpu_check: no CUDA device: the CUDA parts below are skipped"
fi
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

echo "== 1. bench section 5 (CUDA batching variants, kernel-only cuDNN)"
timeout 150 "$PYTHON" -m benchmarks --sections 5 --docs 256 --repeats 2 --out "$OUT" \
  | tee "$OUT/bench.txt"

echo "== 2. BBC News, 2 epochs on the GPU"
if [ "$CUDA" = 1 ]; then
  timeout 120 "$PYTHON" train.py trainer.max_epochs=2 trainer.enable_progress_bar=false \
    "hydra.run.dir=$OUT/bbc_run" | tail -n 25
  "$PYTHON" -c "import json,sys; r=json.load(open(sys.argv[1])); print('test/acc', r['metrics'].get('test/acc'), 'precision', r['runtime'].get('precision'), 'wall s', r['wall_time_s'])" "$OUT/bbc_run/metrics.json"
else
  echo "skipped: no CUDA device"
fi

echo "== 3. exactness on CUDA (padded vs packed cuDNN)"
timeout 60 "$PYTHON" -m pytest -q -rs tests/test_recurrent.py -k cuda -p no:cacheprovider
