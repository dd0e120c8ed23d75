"""Classical baselines on the very splits our runs use: majority class, TF-IDF + linear SVM,
1-NN Euclidean and 1-NN DTW for sequences. Forecasting baselines (naive, seasonal naive and
`lstmkit.ets`) are scored by the forecasting task itself on each run's own backtest origins
and read from its metrics.json, so there is one ETS and the windows always match.

Each returns {baseline name: {"test/<metric>": value, "val/<metric>": value}}. Sequence
baselines fit on the whole official train split (1-NN has nothing to tune), so they see the
few sequences our runs hold out for validation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

Scores = dict[str, dict[str, float]]


def text_baselines(csv: Path) -> Scores:
    """Majority class and TF-IDF (uni+bigrams, sublinear) + LinearSVC, fitted on train."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    frame = pd.read_csv(csv)
    parts = {s: frame[frame["split"] == s] for s in ("train", "val", "test")}
    vectors = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    svm = LinearSVC().fit(vectors.fit_transform(parts["train"]["text"]), parts["train"]["label"])
    majority = parts["train"]["label"].mode()[0]
    scores: Scores = {"majority": {}, "tfidf_svm": {}}
    for split in ("val", "test"):
        truth = parts[split]["label"].to_numpy()
        guess = svm.predict(vectors.transform(parts[split]["text"]))
        scores["tfidf_svm"][f"{split}/acc"] = float((guess == truth).mean())
        scores["majority"][f"{split}/acc"] = float((truth == majority).mean())
    return scores


def resampled(frame: pd.DataFrame, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sequence linearly resampled to `length` steps: [n, length, features], labels."""
    features = [c for c in frame.columns if c not in ("series", "step", "label", "split")]
    arrays, labels = [], []
    for _, group in frame.groupby("series", sort=True):
        values = group.sort_values("step")[features].to_numpy(np.float64)
        old = np.linspace(0, 1, len(values))
        new = np.linspace(0, 1, length)
        arrays.append(
            np.stack([np.interp(new, old, values[:, k]) for k in range(len(features))], 1)
        )
        labels.append(group["label"].iloc[0])
    return np.stack(arrays), np.asarray(labels)


def dtw_distances(a: np.ndarray, b: np.ndarray, window: int) -> np.ndarray:
    """Dependent DTW between every pair of a [n, L, d] and b [m, L, d], Sakoe-Chiba `window`;
    vectorised over the pairs, a loop over the cells of the band."""
    length = a.shape[1]
    previous = np.full((length + 1, len(a), len(b)), np.inf)
    previous[0] = 0.0
    for i in range(1, length + 1):
        current = np.full_like(previous, np.inf)
        lo, hi = max(1, i - window), min(length, i + window)
        cost = ((a[:, None, i - 1, None, :] - b[None, :, lo - 1 : hi, :]) ** 2).sum(-1)
        for j in range(lo, hi + 1):
            best = np.minimum(np.minimum(previous[j - 1], previous[j]), current[j - 1])
            current[j] = cost[:, :, j - lo] + best
        previous = current
    return previous[length]


def sequence_baselines(csv: Path) -> Scores:
    """Majority class, 1-NN Euclidean and 1-NN DTW (10% band) on the official split.

    Variable-length sets are resampled to their longest training length first.
    """
    frame = pd.read_csv(csv)
    length = int(frame[frame["split"] == "train"].groupby("series").size().max())
    train_x, train_y = resampled(frame[frame["split"] == "train"], length)
    test_x, test_y = resampled(frame[frame["split"] == "test"], length)
    euclid = ((test_x[:, None] - train_x[None]) ** 2).sum((-1, -2))
    dtw = dtw_distances(test_x, train_x, max(1, length // 10))
    labels, counts = np.unique(train_y, return_counts=True)
    majority = labels[counts.argmax()]
    return {
        "majority": {"test/acc": float((test_y == majority).mean())},
        "1nn_euclid": {"test/acc": float((train_y[euclid.argmin(1)] == test_y).mean())},
        "1nn_dtw": {"test/acc": float((train_y[dtw.argmin(1)] == test_y).mean())},
    }
