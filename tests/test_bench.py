"""The benchmark's pieces do what they claim (speed itself is measured by `make bench` only)."""

import time

import numpy as np
import pyarrow.csv as pacsv
import torch

from benchmarks import preprocessing
from benchmarks.kernel import kernel_tokens_per_s
from benchmarks.loops import bucketed_batches, padded_to_max_batches, train_epoch
from benchmarks.training import busy_neighbours
from lstmkit.data.batches import RaggedDataset
from lstmkit.data.ragged import Ragged
from lstmkit.models.classifier import RecurrentClassifier


def test_corpus_and_both_preprocessing_sides_cover_every_row(tmp_path):
    path = preprocessing.make_corpus(tmp_path / "c.csv", rows=300, words_per_text=12)
    table = pacsv.read_csv(path)
    assert table.num_rows == 300 and table.column_names == ["text", "label"]
    ours, base = preprocessing.measure("ours", path), preprocessing.measure("baseline", path)
    assert ours["rows"] == base["rows"] == 300
    # ours also splits punctuation into tokens, so it sees at least the baseline's tokens
    assert ours["tokens"] >= base["tokens"] == 300 * 12
    assert 0 < ours["peak_rss_mb"] and 0 < base["peak_rss_mb"]


def test_loops_batch_every_document_once_and_count_real_tokens():
    rng = np.random.default_rng(0)
    rows = [rng.integers(2, 40, size=n) for n in rng.integers(1, 30, size=50)]
    data = RaggedDataset(Ragged.from_list(rows), rng.integers(0, 3, size=50))
    naive = list(padded_to_max_batches(data, 8, 32, seed=0))
    assert all(b["inputs"].shape[1] == 32 for b in naive)
    bucketed = list(bucketed_batches(data, 8, seed=0))
    assert sum(len(b["targets"]) for b in bucketed) == 50
    model = RecurrentClassifier(num_classes=3, vocab_size=40, embedding_dim=8, hidden_size=8)
    tokens = train_epoch(model, bucketed)
    assert tokens == sum(len(r) for r in rows)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_kernel_yardstick_times_each_precision_and_restores_threads():
    threads = torch.get_num_threads()
    speeds = kernel_tokens_per_s(repeats=1, threads=[1])
    assert set(speeds) == {"fp32_1t", "bf16_1t"} and all(v > 0 for v in speeds.values())
    assert torch.get_num_threads() == threads


def test_kernel_yardstick_over_given_shapes_counts_only_their_real_tokens():
    """Same shapes, a tenth of the tokens called real: about a tenth of the tokens/s."""
    torch.manual_seed(0)
    full = [(4, 64, 256), (2, 16, 32)]
    padded = [(b, t, n // 10) for b, t, n in full]
    speeds = [kernel_tokens_per_s(repeats=3, threads=[1], shapes=s) for s in (full, padded)]
    ratio = speeds[1]["fp32_1t"] / speeds[0]["fp32_1t"]
    assert 0.02 < ratio < 0.5  # 0.1 up to timing noise; counting padded tokens would give ~1


def test_busy_neighbours_run_only_inside_the_block():
    with busy_neighbours(2) as procs:
        time.sleep(0.3)
        assert len(procs) == 2 and all(p.poll() is None for p in procs)  # still spinning
    assert all(p.poll() is not None for p in procs)


def test_train_timer_times_the_kernel_after_each_epoch_at_the_run_precision(tmp_path):
    """The paired yardstick: one kernel figure per epoch, taken outside the epoch's timed span."""
    import json

    import lightning as L
    from torch.utils.data import DataLoader

    from benchmarks.pipeline_run import TrainTimer
    from lstmkit.tasks.classification import ClassificationTask

    g = torch.Generator().manual_seed(0)
    data = [
        {
            "inputs": torch.randint(1, 40, (4, 6), generator=g),
            "lengths": torch.tensor([6, 5, 6, 3]),
            "targets": torch.randint(0, 3, (4,), generator=g),
        }
        for _ in range(3)
    ]
    net = RecurrentClassifier(num_classes=3, vocab_size=40, embedding_dim=8, hidden_size=8)
    task = ClassificationTask(net, lambda p: torch.optim.Adam(p, lr=1e-2), num_classes=3)
    shapes = tmp_path / "shapes.json"
    shapes.write_text(json.dumps([[2, 16, 20], [4, 8, 30]]))
    timer = TrainTimer(str(tmp_path / "timings.json"), kernel_shapes=str(shapes))
    trainer = L.Trainer(
        max_epochs=2,
        callbacks=[timer],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    loader = DataLoader(data, batch_size=None)
    trainer.fit(task, loader, loader)
    saved = json.loads((tmp_path / "timings.json").read_text())
    assert len(saved["epoch_s"]) == len(saved["kernel"]) == 2
    assert all(k > 0 for k in saved["kernel"]) and all(s > 0 for s in saved["epoch_s"])
