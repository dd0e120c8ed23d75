"""Write an N-row CSV of texts with a known label rule, for scale tests anyone can rerun.

    python scripts/make_corpus.py rows=10000000 output=outputs/scale/corpus-10M.csv [seed=0]

Each text is 20-60 Zipf-distributed pseudo-words (with commas and full stops) and three
marker words of one of four topics; its label is that topic (`topic0`..`topic3`). Marker
words end in `z`, which no filler word contains, so the rule is exact and a model can learn
it. Written chunk by chunk (memory stays flat however many rows) into a temporary file,
renamed at the end. The same rows, seed and chunk size give the same file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lstmkit.atomic import atomic_path

OPTIONS = ("rows", "output", "seed")
LETTERS = np.array(list("etaoinshrdlcumwfgypbvk"))
TOPICS, MARKERS_PER_TOPIC, MARKERS_PER_TEXT = 4, 10, 3
MIN_WORDS, MAX_WORDS, FILLER_WORDS = 20, 60, 50_000
CHUNK_ROWS = 100_000


def _words(rng: np.random.Generator, n: int, suffix: str = "") -> list[str]:
    return ["".join(rng.choice(LETTERS, size=rng.integers(2, 10))) + suffix for _ in range(n)]


class Corpus:
    """The vocabulary and the rule; `chunk` draws rows from them."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        filler = [",", ".", *_words(self.rng, FILLER_WORDS)]
        markers = _words(self.rng, TOPICS * MARKERS_PER_TOPIC, suffix="z")
        self.words = pa.array(filler + markers, pa.string())
        weights = 1.0 / np.arange(1, len(filler) + 1)
        self.cdf = np.cumsum(weights) / weights.sum()
        self.first_marker = len(filler)

    def chunk(self, rows: int) -> pa.Table:
        """`rows` texts and their labels."""
        rng = self.rng
        lengths = rng.integers(MIN_WORDS, MAX_WORDS + 1, rows)
        offsets = np.zeros(rows + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.searchsorted(self.cdf, rng.random(int(offsets[-1])))
        labels = rng.integers(0, TOPICS, rows)
        for _ in range(MARKERS_PER_TEXT):
            at = offsets[:-1] + rng.integers(0, lengths)
            pick = rng.integers(0, MARKERS_PER_TOPIC, rows)
            ids[at] = self.first_marker + labels * MARKERS_PER_TOPIC + pick
        tokens = self.words.take(pa.array(ids))
        texts = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), tokens), " ")
        names = pa.array(np.char.add("topic", labels.astype(str)))
        return pa.table({"text": texts.cast(pa.string()), "label": names})


def write_corpus(path: Path, rows: int, seed: int = 0) -> Path:
    """Write `rows` rows to `path` (atomically); an existing file is kept as it is."""
    if path.exists():
        return path
    corpus = Corpus(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        first = corpus.chunk(min(rows, CHUNK_ROWS))
        with pacsv.CSVWriter(tmp, first.schema) as writer:
            writer.write_table(first)
            for start in range(len(first), rows, CHUNK_ROWS):
                writer.write_table(corpus.chunk(min(CHUNK_ROWS, rows - start)))
    return path


def main(args: list[str]) -> int:
    options = dict(a.partition("=")[::2] for a in args)
    if set(options) - set(OPTIONS) or not {"rows", "output"} <= set(options):
        print(__doc__, file=sys.stderr)
        return 2
    rows = int(float(options["rows"]))  # 1e6 works too
    print(write_corpus(Path(options["output"]), rows, int(options.get("seed", 0))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
