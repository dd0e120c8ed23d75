"""The Keras row of the speed comparison: the same BBC News model in Keras 3 / TensorFlow.

Embedding 128 (mask_zero) -> Bidirectional(LSTM 128) -> Dense, batch 32, texts truncated to
400 tokens, Adam 3e-3, 80% of the documents for training. Prints seconds per epoch, non-pad
training tokens per second and validation accuracy per epoch, and writes them as JSON.

Runs in its own environment (scripts/requirements-keras.txt), never in CI:
    python -m venv .keras && .keras/bin/pip install -r scripts/requirements-keras.txt
    python train.py trainer.max_epochs=1   # once, to write data/bbc_news.csv
    .keras/bin/python scripts/bench_keras.py --threads 2 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default="data/bbc_news.csv")
    parser.add_argument("--threads", type=int, default=2, help="TF intra-op threads")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default="outputs/bench/keras.json")
    return parser.parse_args()


def main() -> None:
    args = parse()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)

    frame = pd.read_csv(args.csv).sample(frac=1.0, random_state=args.seed)
    labels = {name: i for i, name in enumerate(sorted(frame["label"].unique()))}
    y = frame["label"].map(labels).to_numpy()
    cut = int(0.8 * len(frame))
    vectorize = keras.layers.TextVectorization(
        max_tokens=30000, output_sequence_length=args.max_length
    )
    vectorize.adapt(frame["text"].iloc[:cut].to_numpy())  # fit on the training part only
    x = vectorize(frame["text"].to_numpy()).numpy()
    x_train, y_train, x_val, y_val = x[:cut], y[:cut], x[cut:], y[cut:]
    tokens = int((x_train != 0).sum())

    model = keras.Sequential(
        [
            keras.layers.Embedding(vectorize.vocabulary_size(), 128, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.LSTM(128)),
            keras.layers.Dense(len(labels)),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.last = time.perf_counter()  # validation excluded, as in our bench

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.seconds = []

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds.append(self.last - self.start)

    timer = Timer()
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        callbacks=[timer],
        verbose=2,
    )
    seconds = statistics.median(timer.seconds)
    result = {
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "threads": args.threads,
        "train_docs": int(cut),
        "train_tokens": tokens,
        "epoch_s": timer.seconds,
        "s_per_epoch": seconds,
        "tokens_per_s": tokens / seconds,
        "val_acc": [float(a) for a in history.history["val_accuracy"]],
    }
    print(json.dumps(result, indent=1))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    print(f"wrote {args.out}  (np {np.__version__})")


if __name__ == "__main__":
    main()
