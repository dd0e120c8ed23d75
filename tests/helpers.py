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


def run_script(
    script: str,
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: int = 300,
) -> subprocess.CompletedProcess:
    """Run `python <script> <args>` from the repository as a user would; `env` adds variables."""
    base = {**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, **(env or {})},
    )


def run_train(
    *overrides: str, cwd: Path | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """Run `python train.py <overrides>`; returns the finished process."""
    return run_script("train.py", *overrides, cwd=cwd, timeout=timeout)


def train_together(*args: str, seeds: tuple[int, ...] = (1, 2), timeout: int = 300) -> None:
    """Start `python train.py <args> seed=<s>` for every seed at once; all must succeed."""
    runs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "train.py"), *args, f"seed={seed}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in seeds
    ]
    for proc in runs:
        assert proc.wait(timeout=timeout) == 0, proc.stderr.read()[-3000:]


def trained_run(out: Path, *overrides: str) -> Path:
    """Train with `overrides` into `out`/run (quietly) and return that run folder."""
    given = {o.split("=", 1)[0] for o in overrides}  # Hydra rejects a key given twice
    usual = (f"paths.output_dir={out}", f"hydra.run.dir={out}/run", *QUIET)
    done = run_train(
        *overrides, *(o for o in usual if o.split("=", 1)[0] not in given), timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / "run"


TEXT_RUN_EPOCHS = 3  # the shared tiny text run (conftest.text_run)
TEXT_RUN_MAX_LENGTH = 20  # test_predict sends longer texts to see them truncated


def text_run_overrides(csv: Path, out: Path, *extra: str) -> list[str]:
    """The shared tiny text run's overrides: a second run with them hits its cache."""
    return tiny_run_overrides(
        csv,
        out,
        f"data.tokenizer.max_length={TEXT_RUN_MAX_LENGTH}",
        f"trainer.max_epochs={TEXT_RUN_EPOCHS}",
        "optimizer.lr=1e-2",
        *extra,
    )


QUIET = (
    "budget.min_steps=0",  # tiny runs: the epochs given, not the default training budget
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",
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
        "budget.min_steps=0",
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


# the id, step and split columns `long_frame` writes, as train.py overrides
SEQUENCE_COLUMNS = ("data.id_column=sid", "data.step_column=t", "data.split_column=split")


def patched_sequence_overrides(csv: Path, *extra: str) -> list[str]:
    """A tiny sequence classification run of `long_frame` data read in patches of 3 steps."""
    return [
        "data=sequence_csv",
        f"data.path={csv}",
        *SEQUENCE_COLUMNS,
        "data.patch=3",
        "model.hidden_size=8",
        "trainer.max_epochs=3",
        "budget.min_steps=0",
        "optimizer.lr=1e-2",
        *extra,
    ]


def sales(stores: dict[str, int], start: str = "2001-01") -> pd.DataFrame:
    """Monthly sales per store: trend 1 a month, a 12-month season, a level per store."""
    frames = []
    for k, (store, n) in enumerate(stores.items()):
        t = np.arange(n)
        frames.append(
            pd.DataFrame(
                {
                    "store": store,
                    "month": pd.date_range(start, periods=n, freq="MS").strftime("%Y-%m"),
                    "sales": 100 + 50 * k + t + 20 * np.sin(2 * np.pi * t / 12),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def monthly_sales_csv(tmp: Path, months: int = 84, trend: bool = True) -> Path:
    """One store's `sales` as tmp/sales.csv; without the trend purely seasonal, where seasonal
    naive is exact."""
    csv = tmp / "sales.csv"
    frame = sales({"a": months})
    if not trend:
        frame["sales"] -= np.arange(months)
    frame.to_csv(csv, index=False)
    return csv


def tiny_forecast_overrides(csv: Path, horizon: int, *extra: str) -> list[str]:
    """A small seq2seq on one `sales` column, one test origin, no ETS; `extra` adds the rest
    (windows per epoch, epochs, the option under test)."""
    return [
        "data=timeseries_csv",
        "model=seq2seq",
        f"data.path={csv}",
        "data.time_column=month",
        "data.value_columns=[sales]",
        f"data.horizon={horizon}",
        "data.backtest.windows=1",
        "data.backtest.ets=false",
        "model.hidden_size=8",
        *extra,
    ]


def predicted_test_accuracy(run: Path, frame: pd.DataFrame, tmp: Path) -> float:
    """`predict.py`'s accuracy on the test split of a `long_frame`-style sequence frame (one
    row per step, `sid`, `label`, `split`): what a run's reported test/acc must equal."""
    from lstmkit.inference.predict import predict

    test = frame[frame["split"] == "test"]
    test.drop(columns=["label", "split"]).to_csv(tmp / "new.csv", index=False)
    predict(str(run), str(tmp / "new.csv"), str(tmp / "p.csv"))
    preds = pd.read_csv(tmp / "p.csv").set_index("sid")
    truth = test.groupby("sid")["label"].first()
    return float((preds.loc[truth.index, "predicted"] == truth).mean())
