"""Config values checked before anything runs: a wrong type or range names its key.

Without this, `optimizer.lr=-1` failed inside the first training step, `data.batch_size=abc`
inside Hydra's instantiate and `data.val_fraction=0` at the end of the first epoch, each with a
traceback. Keys absent from the composed config (another data kind's) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf

from lstmkit.errors import ConfigError

_ABSENT = object()


@dataclass(frozen=True)
class Rule:
    """A value's kind (int / float / bool) and bounds; `open_*` excludes the bound itself."""

    kind: type
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    nullable: bool = False
    words: tuple[str, ...] = ()  # strings allowed besides numbers, e.g. "auto"

    def bounds(self) -> str:
        if self.low is not None and self.high is not None:
            left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
            return f"in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f"{'>' if self.open_low else '>='} {self.low:g}"
        return ""

    def problem(self, value: Any) -> str | None:
        """What is wrong with `value`, or None."""
        if (value is None and self.nullable) or (isinstance(value, str) and value in self.words):
            return None
        kinds = {int: "a whole number", float: "a number", bool: "true or false"}
        if self.kind is bool:
            ok_type = isinstance(value, bool)
        else:  # bool is an int subclass: true is not a batch size
            allowed = (int, float) if self.kind is float else int
            ok_type = isinstance(value, allowed) and not isinstance(value, bool)
        if not ok_type:
            extra = f" {self.bounds()}" if self.bounds() else ""
            null = " (or null)" if self.nullable else ""
            null += "".join(f" (or {w})" for w in self.words)
            return f"must be {kinds[self.kind]}{extra}{null}, got {value!r}"
        low_bad = self.low is not None and (
            value <= self.low if self.open_low else value < self.low
        )
        high_bad = self.high is not None and (
            value >= self.high if self.open_high else value > self.high
        )
        return f"must be {self.bounds()}, got {value}" if low_bad or high_bad else None


WHOLE = Rule(int, 1)
FRACTION = Rule(float, 0, 1, open_high=True)
FLAG = Rule(bool)
RULES: dict[str, Rule] = {
    "seed": Rule(int, 0),
    "optimizer.lr": Rule(float, 0, open_low=True),
    "optimizer.weight_decay": Rule(float, 0),
    "optimizer.momentum": Rule(float, 0),
    "data.batch_size": WHOLE,
    "data.eval_batch_size": Rule(int, 1, nullable=True),
    "data.val_fraction": FRACTION,
    "data.test_fraction": FRACTION,
    "data.epoch_repeats": Rule(int, 1, nullable=True),
    "budget.min_steps": Rule(int, 0),
    "ensemble.size": Rule(int, 1, 64),
    "ensemble.top_k": Rule(int, 1, 64),
    "ensemble.folds": Rule(int, 0, 64, nullable=True),
    "ensemble.neighbours": Rule(bool, nullable=True),
    "data.num_workers": Rule(int, 0),
    "data.pool_factor": WHOLE,
    "data.patch": Rule(int, 1, nullable=True),
    "data.input_length": Rule(int, 1, nullable=True),
    "data.horizon": WHOLE,
    "data.stride": WHOLE,
    "data.season": Rule(int, 1, nullable=True),
    "data.anchor_alpha": Rule(float, 0.01, 1, nullable=True),
    "data.val_size": Rule(float, 0, nullable=True),
    "data.test_size": Rule(float, 0, nullable=True),
    "data.backtest.windows": Rule(int, 1, nullable=True),
    "data.backtest.step": Rule(int, 1, nullable=True),
    "data.backtest.val_windows": Rule(int, 1, nullable=True),
    "data.backtest.val_step": Rule(int, 1, nullable=True),
    "data.backtest.ets": FLAG,
    "data.backtest.refit": FLAG,
    "data.backtest.refit_on_val": FLAG,
    "data.backtest.train_on_val": FLAG,
    "data.backtest.drop_last": Rule(int, 0),
    "data.balance_series": FLAG,
    "data.windows_per_epoch": Rule(int, 1, nullable=True),
    "data.drop_duplicates": FLAG,
    "data.drop_empty": FLAG,
    "data.use_cache": FLAG,
    "data.log_transform": Rule(bool, nullable=True),
    "data.dayfirst": FLAG,
    "data.tokenizer.vocab_size": Rule(int, 1, words=("auto",)),
    "data.tokenizer.max_length": WHOLE,
    "data.tokenizer.min_frequency": Rule(int, 0, words=("auto",)),
    "data.tokenizer.lowercase": FLAG,
    "model.embedding_dim": WHOLE,
    "model.hidden_size": WHOLE,
    "model.num_layers": WHOLE,
    "model.bidirectional": FLAG,
    "model.dropout": FRACTION,
    "model.embedding_dropout": FRACTION,
    "model.head_dropout": FRACTION,
    "model.conv_branch": Rule(bool, nullable=True),
    "trainer.max_epochs": Rule(int, -1),  # -1: no epoch limit (with max_steps / max_time)
    "trainer.log_every_n_steps": WHOLE,
    "trainer.gradient_clip_val": Rule(float, 0, nullable=True),
}


def check_value(key: str, value: Any, rule: Rule) -> None:
    """Raise ConfigError naming `key` if `value` breaks `rule`."""
    problem = rule.problem(value)
    if problem:
        raise ConfigError(f"{key} {problem}.")


def check_config(cfg: DictConfig) -> None:
    """Every known numeric / boolean setting has the right type and range; val is not empty."""
    for key, rule in RULES.items():
        value = OmegaConf.select(cfg, key, default=_ABSENT)
        if value is not _ABSENT:
            check_value(key, value, rule)
    if OmegaConf.select(cfg, "trainer.max_epochs", default=None) == 0:
        raise ConfigError(
            "trainer.max_epochs=0 trains nothing; metrics of an untrained model are not a "
            "result. Give at least 1 (or -1 with trainer.max_steps / max_time)."
        )
    data: Any = cfg.get("data") or {}  # a DictConfig, or {} without one
    if "val_fraction" in data and data.val_fraction == 0 and not data.get("split_column"):
        raise ConfigError(
            "data.val_fraction=0 leaves no validation split, but the run picks its best "
            "checkpoint and stops early on val metrics. Use e.g. data.val_fraction=0.1."
        )
    if "val_size" in data and data.val_size == 0:
        raise ConfigError(
            "data.val_size=0 leaves no validation window, but the run picks its best "
            "checkpoint and stops early on val metrics. Set data.val_size >= data.horizon."
        )


def instantiation_error(e: InstantiationException) -> ConfigError | None:
    """A constructor refusing a config value's type or range (e.g. a string where a number is
    compared), as one line naming the config node; None for other failures."""
    cause = e.__cause__
    if not isinstance(cause, (TypeError, ValueError)):
        return None
    key = re.search(r"full_key: (\S+)", str(e))
    node = key.group(1) if key else "the config"
    return ConfigError(
        f"a value under {node} has the wrong type or range ({type(cause).__name__}: {cause}). "
        f"Check the values set under {node}."
    )
