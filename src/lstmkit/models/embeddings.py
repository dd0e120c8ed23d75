"""Pretrained word vectors from a GloVe or word2vec text file, aligned to our vocabulary."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from lstmkit.errors import DataError

log = logging.getLogger(__name__)


def load_vectors(path: str | Path, vocab: dict[str, int], dim: int) -> tuple[torch.Tensor, int]:
    """Return a [len(vocab), dim] matrix (rows for unknown words left at zero) and the hit count.

    Reads line by line and keeps only words in `vocab`, so a multi-GB file needs no more memory
    than the matrix. A word2vec header line ("<count> <dim>") is skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"Pretrained embeddings file not found: {path} (model.pretrained_embeddings)."
        )
    matrix = np.zeros((len(vocab), dim), dtype=np.float32)
    found = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f, start=1):
            word, _, rest = line.rstrip().partition(" ")
            if line_no == 1 and len(rest.split()) == 1 and word.isdigit():
                continue  # word2vec header
            row = vocab.get(word)
            if row is None:
                continue
            values = np.array(rest.split(), dtype=np.float32)
            if len(values) != dim:
                raise DataError(
                    f"{path}:{line_no}: vector for {word!r} has {len(values)} values; "
                    f"model.embedding_dim is {dim}. Set model.embedding_dim={len(values)}."
                )
            matrix[row] = values
            found += 1
    log.info(
        "pretrained embeddings: %d of %d vocabulary words found in %s", found, len(vocab), path
    )
    return torch.from_numpy(matrix), found
