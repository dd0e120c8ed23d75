"""Shared test helpers: small real data frames and a runner for the real `train.py`.

Imported by test modules as `from helpers import ...` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

TOPICS = {
    "sport": "match goal team player score league coach win season cup",
    "tech": "software chip phone computer internet data code robot cloud app",
    "money": "market bank shares profit price growth economy trade tax fund",
}


def make_text_frame(n_per_class: int = 40, seed: int = 0) -> pd.DataFrame:
    """Texts built from class-specific words plus shared filler: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    filler = "the a of and to in is was for on that with".split()
    rows = []
    for label, words in TOPICS.items():
        vocab = words.split()
        for i in range(n_per_class):
            n = int(rng.integers(5, 30))
            tokens = rng.choice(vocab + filler, size=n).tolist() + [f"id{label}{i}"]
            rows.append({"text": " ".join(tokens), "label": label})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def run_train(
    *overrides: str, cwd: Path | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """Run `python train.py <overrides>` as a user would; returns the finished process."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *overrides],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def tiny_run_overrides(csv: Path, out: Path, *extra: str) -> list[str]:
    """Overrides for a seconds-long run on `csv`, every output under `out`."""
    return [
        "data=text_csv",
        f"data.path={csv}",
        f"paths.output_dir={out}",
        f"hydra.run.dir={out}/run",
        "model.embedding_dim=16",
        "model.hidden_size=16",
        "data.batch_size=16",
        "data.tokenizer.min_frequency=1",
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=1",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        *extra,
    ]


def long_frame(n_per_class: int = 12, seed: int = 0) -> pd.DataFrame:
    """Variable-length 2-feature sequences; the class sets the mean of feature a."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in ("low", "high"):
        for i in range(n_per_class):
            length = int(rng.integers(3, 9))
            a = rng.normal(5.0 if label == "high" else -5.0, 1.0, length)
            rows.append(
                pd.DataFrame(
                    {
                        "sid": f"{label}{i}",
                        "t": np.arange(length) * 10,
                        "a": a,
                        "b": rng.normal(100, 10, length),
                        "label": label,
                        "split": "test" if i < 3 else "train",
                    }
                )
            )
    frame = pd.concat(rows, ignore_index=True)
    return (
        frame.sample(frac=1.0, random_state=seed)
        .sort_values(["t"], kind="stable")
        .reset_index(drop=True)
    )  # sequences interleaved, steps in order within each
