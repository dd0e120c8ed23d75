"""Preprocessing benchmark: read, tokenise and encode a large CSV of short texts.

Each side runs in a fresh process so its peak memory (ru_maxrss) is its own:
`python -m benchmarks.preprocessing ours|baseline <csv>` prints one JSON line.
"""

from __future__ import annotations

import csv
import json
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lstmkit.atomic import atomic_path

TRAIN_FRACTION, VOCAB_SIZE, MIN_FREQUENCY, MAX_LENGTH = 0.8, 30000, 2, 400


def make_corpus(path: Path, rows: int, words_per_text: int = 40, seed: int = 0) -> Path:
    """Short English-like texts: Zipf-distributed pseudo-words, capitals, commas and full stops."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    letters = np.array(list("etaoinshrdlcumwfgypbvk"))
    vocab = np.array(["".join(rng.choice(letters, size=rng.integers(2, 10))) for _ in range(50000)])
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    ids = rng.choice(len(vocab), size=rows * words_per_text, p=weights / weights.sum())
    tokens = vocab[ids].astype(object)
    first = np.arange(0, len(tokens), words_per_text)
    tokens[first] = [w.capitalize() for w in tokens[first]]
    punct = rng.random(len(tokens))
    tokens[punct < 0.06] = tokens[punct < 0.06] + ","
    tokens[(punct > 0.97)] = tokens[(punct > 0.97)] + "."
    offsets = pa.array(np.arange(0, len(tokens) + 1, words_per_text, dtype=np.int32))
    texts = pc.binary_join(pa.ListArray.from_arrays(offsets, pa.array(tokens, pa.string())), " ")
    table = pa.table({"text": texts, "label": rng.integers(0, 5, rows)})
    with atomic_path(path) as tmp:
        pacsv.write_csv(table, tmp)
    return path


def ours(path: Path) -> dict:
    """The toolkit's path: Arrow CSV reader + Arrow word tokenisation, fit on the train rows."""
    from lstmkit.data.csv import read_csv
    from lstmkit.data.tokenization import TextEncoder, TokenizerConfig

    frame = read_csv(path, {"text": "text"})
    cfg = TokenizerConfig(vocab_size=VOCAB_SIZE, min_frequency=MIN_FREQUENCY, max_length=MAX_LENGTH)
    train_rows = np.arange(int(len(frame) * TRAIN_FRACTION))
    _, encoded = TextEncoder.fit_encode(cfg, pa.array(frame["text"], type=pa.string()), train_rows)
    return {"rows": len(encoded), "tokens": int(len(encoded.values))}


def baseline(path: Path) -> dict:
    """Pure Python: csv module, lower().split(), Counter vocabulary, dict lookups."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        texts = [row[0] for row in reader]
    tokens = [t.lower().split() for t in texts]
    counts: Counter[str] = Counter()
    for row in tokens[: int(len(tokens) * TRAIN_FRACTION)]:
        counts.update(row)
    kept = [w for w, n in counts.most_common(VOCAB_SIZE - 2) if n >= MIN_FREQUENCY]
    vocab = {w: i + 2 for i, w in enumerate(kept)}
    ids = [[vocab.get(w, 1) for w in row[:MAX_LENGTH]] for row in tokens]
    lengths = np.array([len(r) for r in ids], dtype=np.int64)
    flat = np.fromiter((i for r in ids for i in r), dtype=np.int32, count=int(lengths.sum()))
    return {"rows": len(lengths), "tokens": int(len(flat))}


def peak_rss_mb() -> float:
    """This process's own peak resident memory. ru_maxrss would not do: Linux carries it over
    from the parent across exec, so a child launched by a big parent reports the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def measure(side: str, path: Path) -> dict:
    """Run one side in a fresh interpreter; its wall time and peak resident memory."""
    out = subprocess.run(
        [sys.executable, "-m", __name__, side, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],  # `benchmarks` is importable from the repo root
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    side, csv_path = sys.argv[1], Path(sys.argv[2])
    start = time.perf_counter()
    result = {"ours": ours, "baseline": baseline}[side](csv_path)
    result["seconds"] = time.perf_counter() - start
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
