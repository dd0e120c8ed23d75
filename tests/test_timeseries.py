"""Time-series windows, chronological splits, scalers and bad input, on small real CSVs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.data.replicas import Replicas
from lstmkit.data.scalers import KINDS, Scaler
from lstmkit.data.timeseries import TimeSeriesDataModule
from lstmkit.errors import ConfigError, DataError


def series_frame(n: int = 60, series: int = 1) -> pd.DataFrame:
    """Value = 1000 * (series + 1) + position: any value tells where it came from."""
    frames = []
    for s in range(series):
        frames.append(
            pd.DataFrame(
                {
                    "id": f"s{s}",
                    "time": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
                    "value": 1000.0 * (s + 1) + np.arange(n),
                    "temp": np.sin(np.arange(n)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "series.csv"
    frame.to_csv(path, index=False)
    return path


def module(path, **kw) -> TimeSeriesDataModule:
    kw = {"input_length": 8, "horizon": 4, "val_size": 8, "test_size": 8, "season": 4} | kw
    return TimeSeriesDataModule(str(path), cache_dir=str(path.parent / "cache"), **kw)


def positions(batch) -> tuple[np.ndarray, np.ndarray]:
    """Positions (within their series) of every input and target step of a batch."""
    return (batch["history"][..., 0].numpy() % 1000, batch["actual"][..., 0].numpy() % 1000)


def test_windows_never_cross_split_boundaries(tmp_path):
    n = 60
    dm = module(write(tmp_path, series_frame(n, series=2)), series_column="id", stride=2)
    dm.setup()
    train_end, val_end = n - 16, n - 8
    spans = {"train": (0, train_end), "val": (train_end, val_end), "test": (val_end, n)}
    for split, (lo, hi) in spans.items():
        data = dm.splits[split]
        batch = data.__getitems__(list(range(len(data))))
        past, future = positions(batch)
        assert future.min() >= lo and future.max() < hi, split  # targets inside their span
        assert (past[:, -1] + 1 == future[:, 0]).all()  # inputs end right before the targets
        assert (np.diff(past, axis=1) == 1).all() and (np.diff(future, axis=1) == 1).all()
        if split == "train":
            assert past.min() >= 0 and future.max() < train_end  # nothing later is ever read
        # one series per window, and the window's series is the one recorded
        ids = (batch["actual"][..., 0].numpy() // 1000 - 1).astype(int)
        assert (ids == batch["series"].numpy()[:, None]).all()
    assert len(dm.splits["test"]) == 2 * 3  # (8 - 4) // 2 + 1 windows per series, end-aligned
    last = dm.splits["test"].__getitems__([len(dm.splits["test"]) - 1])
    assert positions(last)[1][0, -1] == n - 1


def test_scaler_is_fitted_on_the_training_span_only(tmp_path):
    frame = series_frame(60)
    dm = module(write(tmp_path, frame), covariate_columns=["temp"])
    dm.setup()
    train = frame.iloc[: 60 - 16]
    assert dm.scaler.center[0] == pytest.approx([train.value.mean(), train.temp.mean()])
    frame.loc[44:, "value"] = 1e6  # val and test changed beyond recognition
    other = module(write(tmp_path, frame), covariate_columns=["temp"])
    other.setup()
    np.testing.assert_allclose(other.scaler.center, dm.scaler.center)
    np.testing.assert_allclose(other.scaler.scale, dm.scaler.scale)
    sizes = {
        "input_size": 2,
        "horizon": 4,
        "num_targets": 1,
        "future_size": 0,
        "num_series": 1,
        "season": 1,  # the anchor's (this series has no calendar season)
        "anchor_alpha": 1.0,  # naive validates best on this series (chosen on val)
    }
    assert dm.model_kwargs() == sizes
    ahead = module(write(tmp_path, frame), future_columns=["temp"])  # known ahead: same fit
    ahead.setup()
    np.testing.assert_allclose(ahead.scaler.center, dm.scaler.center)
    assert ahead.model_kwargs() == sizes | {"future_size": 1}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("log", [False, True])
def test_inverse_transform_round_trip(kind, log):
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 50.0, size=(40, 3))
    series = np.repeat([0, 1], 20)
    scaler = Scaler.fit(kind, values[::2], series[::2], 2, log=log, log_columns=2)
    scaled = scaler.transform(values, series)
    windows = scaled.reshape(8, 5, 3)
    owner = series.reshape(8, 5)[:, 0]
    back = scaler.inverse(windows.astype(np.float64), owner)
    np.testing.assert_allclose(back.reshape(40, 3), values, rtol=1e-5)
    tensor = scaler.inverse(torch.from_numpy(windows[..., :2]).double(), torch.from_numpy(owner))
    np.testing.assert_allclose(tensor.numpy().reshape(40, 2), values[:, :2], rtol=1e-5)
    restored = Scaler.from_dict(scaler.to_dict())
    np.testing.assert_allclose(restored.transform(values, series), scaled)


def test_missing_values_error_by_default_or_are_filled(tmp_path):
    frame = series_frame(60)
    frame.loc[[10, 11], "value"] = np.nan
    path = write(tmp_path, frame)
    pattern = r"missing value\(s\) in column 'value' at line\(s\) 12, 13"
    with pytest.raises(DataError, match=pattern):
        module(path).setup()
    filled = module(path, missing="interpolate")
    filled.setup()
    batch = filled.splits["train"].__getitems__([3])  # window covering rows 3..14
    np.testing.assert_allclose(batch["history"][0, :, 0].numpy(), 1000.0 + np.arange(3, 11))
    ffilled = module(path, missing="ffill")
    ffilled.setup()
    assert ffilled.splits["train"].raw[11, 0] == 1009.0


BAD = {
    "non-numeric": (
        lambda f: f.astype({"value": object}).assign(
            value=lambda d: d.value.where(d.index != 5, "12 kg")
        ),
        {},
        DataError,
        r"non-numeric value '12 kg' at line\(s\) 7",
    ),
    "unsorted": (
        lambda f: f.iloc[[0, 1, 3, 2] + list(range(4, 60))],
        {},
        DataError,
        r"unsorted time step\(s\) in column 'time' at line\(s\) 5",
    ),
    "duplicate": (
        lambda f: pd.concat([f.iloc[:5], f.iloc[4:]]),
        {},
        DataError,
        r"duplicate time step\(s\).*line\(s\) 7",
    ),
    "gap": (lambda f: f.drop(index=20), {}, DataError, r"irregular time steps"),
    "short": (
        lambda f: f.iloc[:25],
        {},
        DataError,
        r"has 25 points; its training span \(9.*input_length \+ horizon = 12",
    ),
    "horizon 0": (lambda f: f, {"horizon": 0}, ConfigError, r"data.horizon must be >= 1"),
    "bad time": (
        lambda f: f.assign(time=f.time.where(f.index != 3, "soon")),
        {},
        DataError,
        r"holds 'soon' at line\(s\) 5",
    ),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_gets_a_clear_message(name, tmp_path):
    change, kwargs, error, pattern = BAD[name]
    path = write(tmp_path, change(series_frame(60)))
    with pytest.raises(error, match=pattern):
        module(path, **kwargs).setup()


def test_training_windows_reshuffle_each_epoch_reproducibly(tmp_path):
    dm = module(write(tmp_path, series_frame(60)), windows_per_epoch=50, batch_size=8)
    dm.setup()
    loader = dm.train_dataloader()
    sampler = loader.batch_sampler.sampler  # where Lightning calls set_epoch
    first = list(sampler)
    assert len(first) == 50 and set(first) == set(range(len(dm.splits["train"])))
    sampler.set_epoch(1)
    second = list(sampler)
    sampler.set_epoch(0)
    assert second != first and list(sampler) == first
    assert sum(len(b["inputs"]) for b in loader) == 50


@pytest.mark.parametrize("windows_per_epoch", [None, 50, 7])
def test_ddp_ranks_train_on_disjoint_equal_shares_of_the_windows(tmp_path, windows_per_epoch):
    dm = module(write(tmp_path, series_frame(60)), windows_per_epoch=windows_per_epoch)
    dm.setup()
    single = list(dm._loader("train", True, Replicas(1, 0, 3)).batch_sampler.sampler)
    shares = [
        list(dm._loader("train", True, Replicas(2, rank, 3)).batch_sampler.sampler)
        for rank in (0, 1)
    ]
    assert len(shares[0]) == len(shares[1]) == len(single) // 2  # same steps on every rank
    drawn = shares[0] + shares[1]
    assert sorted(drawn) == sorted(single[: len(drawn)])  # one epoch's draw, split in two
    if windows_per_epoch is None:  # each window at most once: the shares are disjoint
        assert not set(shares[0]) & set(shares[1])
    for split in ("val", "test"):  # evaluation: disjoint shares that together cover the split
        loaders = [dm._loader(split, False, Replicas(2, rank, 0)) for rank in (0, 1)]
        seen = [[o for b in loader for o in b["actual"][:, 0, 0].tolist()] for loader in loaders]
        assert not set(seen[0]) & set(seen[1])
        assert len(seen[0]) + len(seen[1]) == len(dm.splits[split])
