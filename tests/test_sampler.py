import numpy as np
import pytest

from lstmkit.data.sampler import BucketBatchSampler


@pytest.mark.parametrize("n,batch", [(1, 4), (37, 4), (100, 32), (1000, 7)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_example_exactly_once_per_epoch(n, batch, shuffle):
    lengths = np.random.default_rng(0).integers(1, 500, size=n)
    sampler = BucketBatchSampler(lengths, batch, shuffle=shuffle, seed=1, pool_factor=5)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        seen = np.concatenate([np.array(b) for b in sampler])
        assert sorted(seen.tolist()) == list(range(n))
        assert all(1 <= len(b) <= batch for b in sampler)
        assert len(list(sampler)) == len(sampler)


def test_epochs_draw_different_orders_but_are_reproducible():
    lengths = np.random.default_rng(0).integers(1, 100, size=200)
    a = BucketBatchSampler(lengths, 8, seed=3)
    first = list(a)
    a.set_epoch(1)
    second = list(a)
    assert first != second
    b = BucketBatchSampler(lengths, 8, seed=3)
    assert list(b) == first


def test_bucketing_cuts_padding():
    lengths = np.random.default_rng(0).integers(1, 1000, size=2000)

    def pad_fraction(batches):
        padded = sum(len(b) * lengths[b].max() for b in batches)
        return 1 - lengths.sum() / padded

    bucketed = [np.array(b) for b in BucketBatchSampler(lengths, 32, seed=0)]
    perm = np.random.default_rng(0).permutation(len(lengths))
    random = [perm[i : i + 32] for i in range(0, len(perm), 32)]
    assert pad_fraction(bucketed) < 0.1 < pad_fraction(random)


def test_replicas_split_batches_without_overlap():
    lengths = np.arange(1, 101)
    shards = [
        set(
            np.concatenate(
                list(BucketBatchSampler(lengths, 10, seed=0, num_replicas=2, rank=r))
            ).tolist()
        )
        for r in range(2)
    ]
    assert not shards[0] & shards[1]
    assert len(shards[0]) == len(shards[1]) == 50
