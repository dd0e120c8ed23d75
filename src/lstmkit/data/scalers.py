"""Per-series, per-column scalers fitted on the training span only, with exact inverses.

One `Scaler` holds a centre and a scale for every (series, column) pair, so a long-format
file of many series is normalised series by series in one vectorised step. The inverse works
on numpy arrays and torch tensors alike: the task turns forecasts back into original units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from lstmkit.errors import ConfigError, DataError

KINDS = ("standard", "minmax", "robust", "none")


@dataclass
class Scaler:
    """`(log1p(x) if log else x) - center) / scale`, per series and column.

    `log_columns` leading columns (the forecast targets) get the log transform; covariates
    may be negative and are only centred and scaled.
    """

    kind: str
    center: np.ndarray  # [S, F]
    scale: np.ndarray  # [S, F]
    log: bool = False
    log_columns: int = 0

    @classmethod
    def fit(
        cls,
        kind: str,
        values: np.ndarray,
        series: np.ndarray,
        num_series: int,
        log: bool = False,
        log_columns: int = 0,
    ) -> Scaler:
        """Fit on `values` [N, F] (training span rows only) grouped by `series` [N] ids."""
        if kind not in KINDS:
            raise ConfigError(f"data.scaler must be one of {list(KINDS)}, got {kind!r}.")
        values = _log(np.asarray(values, dtype=np.float64), log, log_columns)
        frame = pd.DataFrame(values).groupby(np.asarray(series))
        width = values.shape[1]
        if kind == "standard":
            center, scale = frame.mean(), frame.std(ddof=0)
        elif kind == "minmax":
            center, scale = frame.min(), frame.max() - frame.min()
        elif kind == "robust":
            center, scale = frame.median(), frame.quantile(0.75) - frame.quantile(0.25)
        else:
            center = pd.DataFrame(np.zeros((num_series, width)))
            scale = pd.DataFrame(np.ones((num_series, width)))
        index = np.arange(num_series)
        center = center.reindex(index).to_numpy(np.float64, copy=True)
        scale = scale.reindex(index).to_numpy(np.float64, copy=True)
        if np.isnan(center).any():
            raise DataError("a series has no points in its training span; lengthen it or drop it.")
        scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)  # constant columns
        return cls(kind, center, scale, bool(log), int(log_columns))

    def transform(self, values: np.ndarray, series: np.ndarray) -> np.ndarray:
        """Scale rows [N, F] belonging to `series` [N]; returns float32."""
        values = _log(np.asarray(values, dtype=np.float64), self.log, self.log_columns)
        return ((values - self.center[series]) / self.scale[series]).astype(np.float32)

    def inverse(self, values: Any, series: Any, columns: int | None = None) -> Any:
        """Back to original units: `values` [B, ..., C] of the first C columns, `series` [B].

        Works on numpy arrays and torch tensors (on their own device), so metrics can be
        computed where the predictions are.
        """
        columns = values.shape[-1] if columns is None else columns
        # numpy arrays here, torch tensors below when `values` is one
        center: Any = self.center[:, :columns]
        scale: Any = self.scale[:, :columns]
        if isinstance(values, torch.Tensor):
            center = torch.as_tensor(center, dtype=values.dtype, device=values.device)
            scale = torch.as_tensor(scale, dtype=values.dtype, device=values.device)
            series = torch.as_tensor(series, device=values.device)
        shape = (len(series),) + (1,) * (values.ndim - 2) + (columns,)
        out = values * scale[series].reshape(shape) + center[series].reshape(shape)
        if self.log and self.log_columns:
            n = min(self.log_columns, columns)
            head = out[..., :n].expm1() if isinstance(out, torch.Tensor) else np.expm1(out[..., :n])
            out = (
                torch.cat([head, out[..., n:]], -1)
                if isinstance(out, torch.Tensor)
                else np.concatenate([head, out[..., n:]], -1)
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
            "log": self.log,
            "log_columns": self.log_columns,
        }

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Scaler:
        return cls(
            spec["kind"],
            np.asarray(spec["center"], dtype=np.float64),
            np.asarray(spec["scale"], dtype=np.float64),
            spec["log"],
            spec["log_columns"],
        )


def _log(values: np.ndarray, log: bool, columns: int) -> np.ndarray:
    if not log or columns == 0:
        return values
    values = values.copy()
    head = values[:, :columns]
    if (head <= -1).any():
        raise DataError("data.log_transform needs values > -1 (log1p); turn it off for this data.")
    values[:, :columns] = np.log1p(head)
    return values
