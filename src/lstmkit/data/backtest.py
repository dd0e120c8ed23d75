"""Rolling-origin backtests: how many forecast origins the val and test spans hold.

`data.backtest.windows=N` scores the model on the last N forecast origins of each series,
`step` steps apart (default: the horizon, so no test point is scored twice): the test span
is `horizon + (N - 1) * step` steps. Validation gets its own `val_windows` origins before
the test span, so nothing chosen on val has seen a test point. Without `windows` the spans
are `data.val_size` / `data.test_size` steps, cut every `data.stride` steps as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lstmkit.errors import ConfigError

KEYS = (
    "windows",
    "step",
    "val_windows",
    "val_step",
    "ets",
    "refit",
    "drop_last",
    "refit_on_val",
    "train_on_val",
)

VAL_RULE = "quarter"  # how val_windows=null is resolved (with_val_windows); part of cache keys


@dataclass(frozen=True)
class Backtest:
    """The resolved protocol: span lengths in steps and the stride between eval origins."""

    windows: int | None = None
    step: int | None = None
    val_windows: int | None = None
    val_step: int | None = None  # steps between validation origins (null = step)
    ets: bool = True
    refit: bool = False  # one training per test origin (lstmkit/refit.py)
    drop_last: int = 0  # steps cut from the end of every series: a refit run's origin
    refit_on_val: bool = False  # choose on val, then train anew on train + val (refit_val.py)
    train_on_val: bool = False  # training windows and scaler reach the test span (that refit)

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Backtest:
        config = dict(config or {})
        unknown = sorted(set(config) - set(KEYS))
        if unknown:
            raise ConfigError(f"data.backtest has unknown keys {unknown}; known: {list(KEYS)}.")
        for key in ("windows", "step", "val_windows", "val_step"):
            value = config.get(key)
            if value is not None and (type(value) is not int or value < 1):
                raise ConfigError(
                    f"data.backtest.{key} must be a whole number >= 1, got {value!r}."
                )
        for key in ("ets", "refit", "refit_on_val", "train_on_val"):
            if key in config and type(config[key]) is not bool:
                raise ConfigError(
                    f"data.backtest.{key} must be true or false, got {config[key]!r}."
                )
        drop = config.get("drop_last", 0)
        if type(drop) is not int or drop < 0:
            raise ConfigError(f"data.backtest.drop_last must be a whole number >= 0, got {drop!r}.")
        if config.get("refit") and not config.get("windows"):
            raise ConfigError("data.backtest.refit=true needs data.backtest.windows (the origins).")
        return cls(**config)

    def stride(self, horizon: int, fallback: int) -> int:
        """Steps between consecutive eval origins."""
        return (self.step or horizon) if self.windows else fallback

    def val_stride(self, horizon: int, fallback: int) -> int:
        """Steps between validation origins: `val_step` within the same span, or the test's."""
        return (self.val_step or self.step or horizon) if self.windows else fallback

    def spans(
        self, horizon: int, val_size: float | None, test_size: float | None
    ) -> tuple[float, float]:
        """(val, test) span sizes: from the origin counts, or the given sizes (default horizon)."""
        if not self.windows:
            return (horizon if val_size is None else val_size), (
                horizon if test_size is None else test_size
            )
        for name, size in (("val_size", val_size), ("test_size", test_size)):
            if size is not None:
                raise ConfigError(
                    f"data.{name}={size} and data.backtest.windows={self.windows} both set the "
                    f"span; set data.{name}=null to use the backtest origins, or "
                    "data.backtest.windows=null to use the sizes."
                )
        step = self.step or horizon
        val = self.val_windows or self.windows
        return horizon + (val - 1) * step, horizon + (self.windows - 1) * step

    def with_val_windows(self, length: int, horizon: int) -> Backtest:
        """`val_windows=null`: `windows` origins, or as many as a quarter of the steps before
        the test span holds when that is more (a long series: choices rest on more forecasts,
        and training keeps three quarters). Set `val_windows` to fix the count."""
        if not self.windows or self.val_windows is not None:
            return self
        step = self.step or horizon
        quarter = (length - horizon - (self.windows - 1) * step) / 4
        more = 1 + int((quarter - horizon) // step) if quarter >= horizon else 0
        return replace(self, val_windows=max(self.windows, more))

    def fit(self, length: int, input_length: int, horizon: int) -> Backtest:
        """Fewer origins (never below 1 each) until a series of `length` steps keeps
        `input_length + horizon` training steps; unchanged when it already does."""
        if not self.windows:
            return self
        test, val = self.windows, self.val_windows or self.windows
        step = self.step or horizon

        def train_steps(test: int, val: int) -> int:
            return length - 2 * horizon - (test + val - 2) * step

        if train_steps(test, val) >= input_length + horizon:
            return self
        while train_steps(test, val) < input_length + horizon and test + val > 2:
            if val >= test:
                val -= 1
            else:
                test -= 1
        return replace(self, windows=test, val_windows=val)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in KEYS}
