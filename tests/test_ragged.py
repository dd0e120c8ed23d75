import numpy as np

from lstmkit.data.ragged import Ragged, value_counts


def test_from_list_round_trip_and_lengths():
    rows = [np.array([3, 4, 5]), np.array([], dtype=int), np.array([7])]
    r = Ragged.from_list(rows)
    assert len(r) == 3
    assert r.lengths.tolist() == [3, 0, 1]
    for i, row in enumerate(rows):
        assert r[i].tolist() == row.tolist()


def test_pad_gathers_rows_and_masks_pads():
    r = Ragged.from_list([np.array([1, 2, 3]), np.array([4]), np.array([5, 6])])
    padded, mask = r.pad(np.array([1, 0]), pad_value=0)
    assert padded.tolist() == [[4, 0, 0], [1, 2, 3]]
    assert mask.tolist() == [[True, False, False], [True, True, True]]


def test_pad_keeps_feature_dims():
    values = np.arange(12, dtype=np.float32).reshape(6, 2)
    r = Ragged.from_lengths(values, np.array([4, 2]))
    padded, mask = r.pad(np.array([1, 0]))
    assert padded.shape == (2, 4, 2)
    assert padded[0, :2].tolist() == values[4:6].tolist()
    assert (padded[0, 2:] == 0).all()


def test_take_reorders_examples():
    r = Ragged.from_list([np.array([1, 2]), np.array([3]), np.array([4, 5, 6])])
    t = r.take(np.array([2, 0]))
    assert [t[i].tolist() for i in range(len(t))] == [[4, 5, 6], [1, 2]]


def test_save_load(tmp_path):
    r = Ragged.from_list([np.array([1, 2]), np.array([3])])
    r.save(tmp_path / "x")
    back = Ragged.load(tmp_path / "x")
    assert back.values.tolist() == [1, 2, 3]
    assert back.offsets.tolist() == [0, 2, 3]


def test_atomic_dir_first_writer_wins_and_failures_leave_nothing(tmp_path):
    import pytest

    from lstmkit.atomic import atomic_dir

    target = tmp_path / "cache" / "key"
    with atomic_dir(target) as a:
        (a / "x").write_text("first")
    with atomic_dir(target) as b:  # a second writer of the same key
        (b / "x").write_text("second")
    assert (target / "x").read_text() == "first"
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "cache" / "other") as c:
        (c / "x").write_text("half")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["key"]


def test_value_counts_counts_a_memory_mapped_array_block_by_block(tmp_path):
    values = np.random.default_rng(0).integers(0, 50, 100_003).astype(np.int32)
    np.save(tmp_path / "v.npy", values)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    expected = np.bincount(values)[:40]
    np.testing.assert_array_equal(value_counts(mapped, 40, block=1000), expected)
