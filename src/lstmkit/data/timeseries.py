"""LightningDataModule for forecasting: CSV of one or many time series -> sliding windows.

Chronological split per series: the last `test_size` steps are test, the `val_size` before
them val, the rest train. A window belongs to the split holding its targets; train windows
(inputs and targets) lie inside the training span, so nothing fitted or trained on sees a
later split. Val and test inputs look back into earlier data, as a real forecast would.
Scalers are fitted on the training span of each series only.

Known-future inputs (`data.future_columns`, scaled like covariates, and `data.calendar`
features of the time index) are the last columns of every window's inputs and, for the
forecast steps, the batch's `future` [B, horizon, K]: the decoder reads them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import BatchSampler, DataLoader, Sampler

from lstmkit.data import calendar
from lstmkit.data.backtest import VAL_RULE, Backtest
from lstmkit.data.base import CsvDataModule
from lstmkit.data.batches import BatchDataset, batch_loader
from lstmkit.data.readers import SeriesTable, read_series
from lstmkit.data.replicas import Replicas
from lstmkit.data.scalers import Scaler
from lstmkit.data.series_defaults import anchor_for, input_length_for, log_transform_for
from lstmkit.data.split import SPLITS
from lstmkit.data.times import infer_frequency, season_of
from lstmkit.errors import ConfigError, DataError
from lstmkit.ets import ets_forecasts
from lstmkit.forecast_metrics import mase_scale, naive_forecast, seasonal_naive_index

log = logging.getLogger(__name__)


def span_origins(start: int, stop: int, input_length: int, horizon: int, stride: int) -> np.ndarray:
    """First-target positions of windows whose targets lie in [start, stop), aligned to the end."""
    first = max(start, input_length)
    last = stop - horizon
    if last < first:
        return np.zeros(0, dtype=np.int64)
    return np.arange(last, first - 1, -stride, dtype=np.int64)[::-1]


def drop_tail(table: SeriesTable, steps: int) -> SeriesTable:
    """The table without the last `steps` rows of every series (a refit run's earlier origin:
    nothing after it is read, fitted or scored)."""
    if not steps:
        return table
    position = np.arange(len(table.codes))
    last = pd.Series(position).groupby(table.codes).transform("max").to_numpy()
    keep = position <= last - steps
    times = replace(table.times, values=table.times.values.iloc[keep])
    return replace(
        table,
        times=times,
        values=table.values[keep],
        codes=table.codes[keep],
        index=table.index[keep],
    )


class WindowSampler(Sampler[int]):
    """`num_samples` window indices per epoch: whole shuffled passes, the order fixed by
    (seed, epoch), so a resumed run draws the same windows as an uninterrupted one.

    Under DDP every rank draws the same order and keeps every `num_replicas`-th index from
    position `rank`: disjoint shares of `num_samples // num_replicas` windows (at least one),
    so the ranks run the same number of steps and together see `num_samples` windows.
    Lightning calls `batch_sampler.sampler.set_epoch(epoch)` at each epoch start.

    With `series` (the owner of each window), draws are balanced over series instead: a
    series is picked uniformly, then one of its windows, so a long series has no more say in
    an epoch than a short one (drawn with replacement).
    """

    def __init__(
        self,
        size: int,
        num_samples: int,
        seed: int,
        epoch: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        series: np.ndarray | None = None,
    ) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside 0..{num_replicas - 1}")
        self.size, self.seed, self.epoch = size, seed, epoch
        self.num_replicas, self.rank = num_replicas, rank
        self.per_rank = max(1, num_samples // num_replicas)
        self.weights = None
        if series is not None:
            counts = np.bincount(series)
            self.weights = 1.0 / (counts[series] * np.count_nonzero(counts))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng((self.seed, self.epoch))
        total = self.per_rank * self.num_replicas
        if self.weights is not None:
            order = rng.choice(self.size, size=total, p=self.weights)
        else:
            passes = -(-total // self.size)
            order = np.concatenate([rng.permutation(self.size) for _ in range(passes)])
        return iter(order[self.rank : total : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.per_rank


class WindowDataset(BatchDataset):
    """Windows as first-target row indices into flat arrays: each batch is one gather."""

    def __init__(
        self,
        scaled: np.ndarray,
        raw: np.ndarray,
        origins: np.ndarray,
        series: np.ndarray,
        mase: np.ndarray,
        input_length: int,
        horizon: int,
        season: int,
        rank: np.ndarray | None = None,
        ets: np.ndarray | None = None,
        future_size: int = 0,
    ) -> None:
        self.scaled, self.raw = scaled, raw.astype(np.float32)
        self.future_size = future_size
        self.rank = np.zeros(len(origins), dtype=np.int64) if rank is None else rank
        self.ets = ets
        self.origins, self.series, self.mase = origins, series, mase.astype(np.float32)
        self.input_length, self.horizon, self.season = input_length, horizon, season
        self.targets = raw.shape[1]

    def __len__(self) -> int:
        return len(self.origins)

    def __getitems__(self, index: list[int]) -> dict[str, torch.Tensor]:
        idx = np.asarray(index, dtype=np.int64)
        origin = self.origins[idx]
        past = origin[:, None] + np.arange(-self.input_length, 0)[None, :]
        future = origin[:, None] + np.arange(self.horizon)[None, :]
        snaive = seasonal_naive_index(origin, self.horizon, self.season)
        as_tensor = torch.from_numpy
        return {
            "inputs": as_tensor(self.scaled[past]),
            "lengths": torch.full((len(idx),), self.input_length, dtype=torch.int64),
            "targets": as_tensor(self.scaled[future][..., : self.targets]),
            "actual": as_tensor(self.raw[future]),
            "history": as_tensor(self.raw[past]),
            "naive": as_tensor(naive_forecast(self.raw[origin - 1], self.horizon)),
            "snaive": as_tensor(self.raw[snaive]),
            "series": as_tensor(self.series[idx]),
            "mase_scale": as_tensor(self.mase[self.series[idx]]),
            "origin": as_tensor(self.rank[idx]),
        } | self._optional(idx, future)

    def _optional(self, idx: np.ndarray, future: np.ndarray) -> dict[str, torch.Tensor]:
        """The ETS forecasts and the known-future inputs of the forecast steps, when present."""
        out = {"ets": torch.from_numpy(self.ets[idx])} if self.ets is not None else {}
        if self.future_size:
            out["future"] = torch.from_numpy(self.scaled[future][..., -self.future_size :])
        return out


class TimeSeriesDataModule(CsvDataModule):
    """Reads and validates the series, splits chronologically, fits scalers, cuts windows.

    The cache holds the scaled and raw values once, and each split's windows as first-target
    row indices: a window is cut by one gather when its batch is drawn.
    """

    kind = "timeseries"

    def __init__(
        self,
        path: str,
        time_column: str = "time",
        value_columns: Sequence[str] | str = ("value",),
        series_column: str | None = None,
        covariate_columns: Sequence[str] = (),
        future_columns: Sequence[str] = (),
        calendar: str | Sequence[str] | None = None,
        input_length: int | None = None,
        horizon: int = 12,
        stride: int = 1,
        val_size: float | None = None,
        test_size: float | None = None,
        backtest: dict[str, Any] | None = None,
        scaler: str = "standard",
        log_transform: bool | None = False,
        missing: str = "error",
        season: int | None = None,
        anchor_alpha: float | None = None,
        windows_per_epoch: int | None = None,
        balance_series: bool = False,
        time_format: str | None = None,
        dayfirst: bool = False,
        **common: Any,
    ) -> None:
        super().__init__(path, **common)
        values = [value_columns] if isinstance(value_columns, str) else list(value_columns)
        for name, value, low in (
            ("input_length", 1 if input_length is None else input_length, 1),
            ("horizon", horizon, 1),
            ("stride", stride, 1),
            ("season", 1 if season is None else season, 1),
        ):
            if int(value) < low:
                raise ConfigError(f"data.{name} must be >= {low}, got {value}.")
        if not values:
            raise ConfigError("data.value_columns must name at least one column.")
        self.time_column, self.value_columns = time_column, values
        self.series_column = series_column
        self.covariate_columns = list(covariate_columns)
        self.future_columns = list(future_columns)
        self.calendar_setting = (
            calendar if calendar is None or isinstance(calendar, str) else list(calendar)
        )
        self.calendar: list[str] = []  # resolved when the data is read
        self.future_size = len(self.future_columns)
        self.input_setting = None if input_length is None else int(input_length)
        self.input_length = self.input_setting or 0  # resolved when the data is read
        self.horizon, self.stride = int(horizon), int(stride)
        self.backtest = Backtest.from_config(backtest)
        self.val_size, self.test_size = self.backtest.spans(int(horizon), val_size, test_size)
        self.eval_stride = self.backtest.stride(int(horizon), int(stride))
        self.val_stride = self.backtest.val_stride(int(horizon), int(stride))
        self.scaler_kind, self.log_transform, self.missing = scaler, log_transform, missing
        self.season_setting = None if season is None else int(season)
        self.season = self.season_setting or 1  # resolved when the data is read
        self.anchor_season = 1  # the season model.anchor=seasonal reads back, chosen on val
        self.alpha_setting = None if anchor_alpha is None else float(anchor_alpha)
        self.anchor_alpha = 1.0  # its smoothing: data.anchor_alpha, or chosen on val
        self.windows_per_epoch = windows_per_epoch
        self.balance_series = bool(balance_series)
        self.time_format, self.dayfirst = time_format, dayfirst
        self.splits: dict[str, WindowDataset] = {}
        self.scaler: Scaler | None = None
        self.series_names: list[str] = []
        self.frequency: str | None = None
        self.mase = np.zeros((0, len(values)))

    def _cache_config(self) -> dict[str, Any]:
        return {
            "columns": [self.time_column, self.series_column],
            "times": [self.time_format, self.dayfirst],
            "values": [self.value_columns, self.covariate_columns, self.missing],
            "future": [self.future_columns, self.calendar_setting],
            "windows": [self.input_setting, self.horizon, self.stride, self.season_setting],
            "anchor": self.alpha_setting,
            "split": [self.val_size, self.test_size, self.backtest.to_dict()],
            "val_rule": VAL_RULE,  # a cache from before the rule holds other validation origins
            "scaler": [self.scaler_kind, self.log_transform],
        }

    # -- reading and checking -----------------------------------------------------------------
    def _read(self) -> SeriesTable:
        table = read_series(
            self.path,
            self.time_column,
            self.value_columns,
            self.series_column,
            self.covariate_columns,
            self.missing,
            self.time_format,
            self.dayfirst,
            self.encoding,
            self.delimiter,
            future_columns=self.future_columns,
        )
        self.series_names = table.names
        return drop_tail(table, self.backtest.drop_last)

    def _season(self, table: SeriesTable) -> int:
        """`data.season`, or the period the inferred frequency carries (logged either way)."""
        first = np.flatnonzero(table.codes == 0)
        self.frequency = infer_frequency(table.times.values.iloc[first].reset_index(drop=True))
        season = self.season_setting or season_of(self.frequency)
        log.info(
            "time index %r: %s, frequency %s; season %d (%s)",
            self.time_column,
            table.times.form,
            self.frequency or "not a calendar frequency",
            season,
            "data.season" if self.season_setting else "from the frequency",
        )
        return season

    def _fit_backtest(self, shortest: int) -> None:
        """Fewer backtest origins when the shortest series cannot hold them (logged)."""
        # input_length=null is sized after the origins (from the training spans they leave):
        # shrink origins only when not even a one-step input would fit
        if not self.backtest.windows:
            return
        longer = self.backtest.with_val_windows(shortest, self.horizon)
        if self.backtest.val_windows is None and longer.val_windows != longer.windows:
            log.info(
                "validation: %d origins (data.backtest.val_windows=null: a quarter of the %d "
                "steps before the test span holds more than windows=%d)",
                longer.val_windows,
                shortest - self.test_size,
                longer.windows,
            )
        fitted = longer.fit(shortest, self.input_setting or 1, self.horizon)
        self.backtest = fitted
        self.val_size, self.test_size = fitted.spans(self.horizon, None, None)
        if fitted == longer:
            return
        log.warning(
            "the shortest series has %d steps: too few for data.backtest.windows=%s and "
            "val_windows=%s with input_length %d + horizon %d training steps; using %d test "
            "and %d validation origin(s). Shorten data.input_length to keep more.",
            shortest,
            longer.windows,
            longer.val_windows,
            self.input_setting or 1,
            self.horizon,
            fitted.windows,
            fitted.val_windows,
        )

    def _span_sizes(self, length: int) -> tuple[int, int]:
        def steps(size: float, name: str) -> int:
            if size < 0:
                raise ConfigError(f"data.{name} must be >= 0, got {size}.")
            return int(round(size * length)) if 0 < size < 1 else int(size)

        return steps(self.val_size, "val_size"), steps(self.test_size, "test_size")

    # -- building and loading the cache ------------------------------------------------------
    def _build(self, out: Path) -> None:
        where = str(self.path)
        table = self._read()
        values, series = table.values, table.codes
        season = self._season(table)
        targets = len(self.value_columns)
        num_series = len(self.series_names)
        starts = np.searchsorted(series, np.arange(num_series))
        lengths = np.bincount(series, minlength=num_series)
        self._fit_backtest(int(lengths.min()))
        origins: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
        owners: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
        ranks: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
        train_rows = np.zeros(len(values), dtype=bool)
        mase = np.zeros((num_series, targets))
        train_spans = np.array([n - sum(self._span_sizes(n)) for n in lengths])
        self.input_length, why = input_length_for(
            self.input_setting, train_spans, self.horizon, season
        )
        log.info("input_length %d (%s)", self.input_length, why)
        for s, (start, n) in enumerate(zip(starts, lengths, strict=True)):
            n_val, n_test = self._span_sizes(n)
            n_train = n - n_val - n_test
            need = self.input_length + self.horizon
            if n_train < need:
                raise DataError(
                    f"{where}: series {self.series_names[s]!r} has {n} points; its training span "
                    f"({n_train} after val_size={n_val} and test_size={n_test}) is shorter than "
                    f"input_length + horizon = {need}. Use a shorter data.input_length or "
                    "data.horizon, smaller val/test sizes, or drop the series."
                )
            for name, size in (("val", n_val), ("test", n_test)):
                if 0 < size < self.horizon:
                    raise ConfigError(
                        f"data.{name}_size ({size} steps) is shorter than "
                        f"data.horizon ({self.horizon}): no window would fit."
                    )
            if season >= n_train:
                raise ConfigError(
                    f"data.season ({season}) must be shorter than the training "
                    f"span of series {self.series_names[s]!r} ({n_train} steps)."
                )
            fit_end = n_train + n_val if self.backtest.train_on_val else n_train
            bounds = {
                "train": (0, fit_end),
                "val": (n_train, n_train + n_val),
                "test": (n_train + n_val, n),
            }
            for split, (lo, hi) in bounds.items():
                stride = {"train": self.stride, "val": self.val_stride}.get(split, self.eval_stride)
                o = span_origins(lo, hi, self.input_length, self.horizon, stride)
                origins[split].append(start + o)
                owners[split].append(np.full(len(o), s, dtype=np.int64))
                ranks[split].append(np.arange(len(o) - 1, -1, -1, dtype=np.int64))
            train_rows[start : start + fit_end] = True  # the scaler's rows
            mase[s] = mase_scale(values[start : start + n_train, :targets], season)
        log_transform, why = log_transform_for(
            self.log_transform, values[train_rows, :targets], series[train_rows]
        )
        log.info("log1p on the targets: %s (%s)", "yes" if log_transform else "no", why)
        self.anchor_season, self.anchor_alpha, why = anchor_for(
            values[:, :targets],
            np.concatenate(origins["val"]),
            self.horizon,
            season,
            self.input_length,
            self.alpha_setting,
            log_transform,
        )
        log.info(
            "a seasonal anchor reads back %d step(s), smoothed with alpha %g (%s)",
            self.anchor_season,
            self.anchor_alpha,
            why,
        )
        scaler = Scaler.fit(
            self.scaler_kind,
            values[train_rows],
            series[train_rows],
            num_series,
            log_transform,
            targets,
        )
        self.calendar = calendar.resolve(
            self.calendar_setting, self.frequency, table.times.format != "number"
        )
        if self.calendar:
            log.info("calendar features %s (sin and cos of each cycle)", self.calendar)
        known = calendar.features(table.times.values, self.calendar)
        np.save(out / "scaled.npy", np.hstack([scaler.transform(values, series), known]))
        np.save(out / "raw.npy", values[:, :targets])
        counts = {}
        for split in SPLITS:
            np.save(out / f"{split}.origins.npy", np.concatenate(origins[split]))
            np.save(out / f"{split}.series.npy", np.concatenate(owners[split]))
            np.save(out / f"{split}.rank.npy", np.concatenate(ranks[split]))
            counts[split] = int(sum(len(o) for o in origins[split]))
        if counts["train"] == 0:
            raise DataError(f"{where}: no training window fits; shorten data.input_length.")
        if counts["val"] == 0:
            raise ConfigError(
                "data.val_size=0 leaves no validation window, but the run picks its best "
                "checkpoint and stops early on val metrics. Set data.val_size >= data.horizon."
            )
        if self.backtest.ets and counts["test"]:
            test_origins, test_owners = (np.concatenate(x["test"]) for x in (origins, owners))
            ets = ets_forecasts(
                values[:, :targets], starts[test_owners], test_origins, self.horizon, season
            )
            np.save(out / "test.ets.npy", ets)
        spec = {
            "kind": "timeseries",
            "time_column": self.time_column,
            "value_columns": self.value_columns,
            "covariate_columns": self.covariate_columns,
            "future_columns": self.future_columns,
            "calendar": self.calendar,
            "future_size": len(self.future_columns) + 2 * len(self.calendar),
            "series_column": self.series_column,
            "series": self.series_names,
            "input_length": self.input_length,
            "horizon": self.horizon,
            "season": season,
            "anchor_season": self.anchor_season,
            "anchor_alpha": self.anchor_alpha,
            "frequency": self.frequency,
            "scaler": scaler.to_dict(),
            "mase_scale": mase.tolist(),
        }
        (out / "preprocessor.json").write_text(json.dumps(spec, indent=2))
        meta = {"counts": counts, "rows_read": len(values), "series": num_series}
        (out / "meta.json").write_text(json.dumps(meta, indent=2))

    def _load(self, folder: Path) -> None:
        spec = json.loads((folder / "preprocessor.json").read_text())
        self.scaler = Scaler.from_dict(spec["scaler"])
        self.series_names = list(spec["series"])
        self.mase = np.asarray(spec["mase_scale"], dtype=np.float64)
        self.season, self.frequency = int(spec["season"]), spec.get("frequency")
        self.anchor_season = int(spec.get("anchor_season", self.season))
        self.anchor_alpha = float(spec.get("anchor_alpha", 1.0))
        self.calendar, self.future_size = list(spec["calendar"]), int(spec["future_size"])
        self.input_length = int(spec["input_length"])  # data.input_length, or as sized to the data
        scaled, raw = np.load(folder / "scaled.npy"), np.load(folder / "raw.npy")
        for split in SPLITS:
            self.splits[split] = WindowDataset(
                scaled,
                raw,
                np.load(folder / f"{split}.origins.npy"),
                np.load(folder / f"{split}.series.npy"),
                self.mase,
                self.input_length,
                self.horizon,
                self.season,
                np.load(folder / f"{split}.rank.npy"),
                np.load(ets) if (ets := folder / f"{split}.ets.npy").is_file() else None,
                self.future_size,
            )
        log.info(
            "series %d, windows %s (input %d, horizon %d, stride %d, eval origins every %d, "
            "season %d), scaler %s%s",
            len(self.series_names),
            {s: len(d) for s, d in self.splits.items()},
            self.input_length,
            self.horizon,
            self.stride,
            self.eval_stride,
            self.season,
            self.scaler_kind,
            " after log1p" if self.scaler.log else "",
        )

    # -- what the model and the run need ------------------------------------------------------
    def model_kwargs(self) -> dict[str, Any]:
        """Sizes the network must match: passed to `instantiate(cfg.model, **kwargs)`."""
        width = len(self.value_columns) + len(self.covariate_columns)
        return {
            "input_size": width + self.future_size,
            "horizon": self.horizon,
            "num_targets": len(self.value_columns),
            "future_size": self.future_size,
            "num_series": max(1, len(self.series_names)),
            "season": self.anchor_season,
            "anchor_alpha": self.anchor_alpha,
        }

    def task_kwargs(self) -> dict[str, Any]:
        """Facts the forecasting task needs to report in original units (plain containers)."""
        assert self.scaler is not None, "call setup() first"
        return {
            "horizon": self.horizon,
            "scaler": self.scaler.to_dict(),
            "target_names": self.value_columns,
            "origins": {
                split: int(self.splits[split].rank.max(initial=0)) + 1 for split in ("val", "test")
            },
            "ets": self.splits["test"].ets is not None,
        }

    def repeat_train(self, times: int) -> bool:
        """Draw `times` as many training windows per epoch (the training budget, small series)."""
        once = getattr(self, "_once", None) or self.windows_per_epoch or len(self.splits["train"])
        self._once, self.windows_per_epoch = once, times * once
        return True

    def _loader(self, split: str, train: bool, replicas: Replicas) -> DataLoader:
        data = self.splits[split]
        if train:
            sampler = WindowSampler(
                len(data),
                self.windows_per_epoch or len(data),
                self.seed,
                epoch=replicas.epoch,
                num_replicas=replicas.world_size,
                rank=replicas.rank,
                series=data.series if self.balance_series else None,
            )
            batches = BatchSampler(sampler, self.batch_size, drop_last=False)
        else:
            # each rank scores its own share; the task adds the metric sums across ranks
            share = range(replicas.rank, len(data), replicas.world_size)
            batches = BatchSampler(share, self.eval_batch_size, drop_last=False)
        return batch_loader(data, batches, self.num_workers)
