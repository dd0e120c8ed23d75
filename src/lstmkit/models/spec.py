"""A network described as plain data: which of our classes, and its sizes and options.

A run folder stores this spec as `model.json`. Predict, export and resume rebuild the network
from it through the allowlist below, never from a `_target_` read back from a file: a run
folder is data, so a hostile one can name no function for us to call. Training builds its
network from the same spec, so what a run saved is exactly what it trained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lstmkit.atomic import read_run_json, write_json
from lstmkit.errors import ConfigError, DataError
from lstmkit.models.classifier import RecurrentClassifier
from lstmkit.models.conv_branch import resolve as resolve_conv_branch
from lstmkit.models.ensemble import Ensemble
from lstmkit.models.neighbours import NearestNeighbours
from lstmkit.models.pooling import MODES
from lstmkit.models.recurrent import BACKENDS, CELLS
from lstmkit.models.seq2seq import ANCHORS, HEADS, Seq2SeqForecaster

FILE = "model.json"
FORMAT = 1


@dataclass(frozen=True)
class Field:
    """One constructor argument: its plain type and the values it may take."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False

    def check(self, name: str, value: Any) -> str | None:
        """Why `value` is not acceptable, or None."""
        if value is None:
            return None if self.optional else "must be set"
        if self.kind is list:
            return self._check_items(value)
        plain = type(value) is self.kind or (self.kind is float and type(value) is int)
        if not plain:
            return f"must be of type {self.kind.__name__}, got {type(value).__name__}"
        if self.choices and value not in self.choices:
            return f"must be one of {list(self.choices)}, got {value!r}"
        if self.low is not None and not self.low <= value <= self.high:
            return f"must be in [{self.low}, {self.high}], got {value!r}"
        return None

    def _check_items(self, value: Any) -> str | None:
        """A list of numbers, each strictly inside (low, high), increasing, at most 99."""
        if type(value) is not list or len(value) > 99:
            return f"must be a list of at most 99 numbers, got {value!r}"
        if not all(type(v) in (int, float) and self.low < v < self.high for v in value):
            return f"must hold numbers strictly inside ({self.low}, {self.high}), got {value!r}"
        if sorted(set(value)) != value:
            return f"must be increasing without repeats, got {value!r}"
        return None


def _size(high: int, optional: bool = False) -> Field:
    return Field(int, 1, high, optional=optional)


DROPOUT = Field(float, 0.0, 0.99)
COMMON = {
    "hidden_size": _size(16_384),
    "num_layers": _size(64),
    "dropout": DROPOUT,
    "cell": Field(str, choices=tuple(CELLS)),
    "backend": Field(str, choices=BACKENDS),
    "init": Field(str, choices=("keras", "torch")),
}
# kind -> (our class, its arguments); nothing outside this table can ever be built
KINDS: dict[str, tuple[type[nn.Module], dict[str, Field]]] = {
    "classifier": (
        RecurrentClassifier,
        {
            "num_classes": _size(1_000_000),
            "vocab_size": _size(50_000_000, optional=True),
            "input_size": _size(1_000_000, optional=True),
            "embedding_dim": _size(16_384),
            "bidirectional": Field(bool),
            "embedding_dropout": DROPOUT,
            "head_dropout": DROPOUT,
            "pooling": Field(str, choices=MODES),
            "freeze_embeddings": Field(bool),
            "padding_idx": Field(int, 0, 50_000_000),
            "conv_branch": Field(bool, optional=True),  # absent in older runs: off
            "patch": _size(1_000_000),  # the data's patch size (absent in older runs: 1)
            **COMMON,
        },
    ),
    "seq2seq": (
        Seq2SeqForecaster,
        {
            "input_size": _size(1_000_000),
            "horizon": _size(1_000_000),
            "num_targets": _size(1_000_000),
            "head": Field(str, choices=HEADS),
            "attention": Field(bool),
            "anchor": Field(str, choices=ANCHORS),
            "season": _size(1_000_000),
            "anchor_alpha": Field(float, 0.01, 1.0),  # absent in runs from before it: 1
            "relative": Field(bool, optional=True),  # runs saved before `anchor`
            "quantiles": Field(list, 0.0, 1.0, optional=True),
            "future_size": Field(int, 0, 1_000_000),
            "num_series": _size(100_000_000),
            "series_embedding": Field(int, 0, 16_384),
            **COMMON,
        },
    ),
}
# the `_target_` of our own conf/model/*.yaml, mapped to a kind (training time only)
TARGETS = {f"{cls.__module__}.{cls.__qualname__}": kind for kind, (cls, _) in KINDS.items()}
NOT_SAVED = ("_target_", "pretrained_embeddings")  # the vectors end up in the weights
ENSEMBLE = "ensemble"  # params: member_kind, members (each a params dict), the shared sizes
SIZES = ("vocab_size", "input_size", "num_classes", "horizon", "num_targets", "future_size")
MAX_MEMBERS = 64
NEIGHBOURS = {  # an ensemble's nearest-neighbour member (models/neighbours.py)
    "count": _size(10_000_000),
    "steps": _size(10_000_000),
    "width": _size(1_000_000),
    "weight": Field(float, 0.01, 0.99),  # the networks' share
    "beta": Field(float, 1e-3, 1e3),
    "scale": Field(float, 1e-12, 1e12),
}


def _neighbour_problems(params: dict[str, Any]) -> list[str]:
    """`neighbours`: absent, or every field of NEIGHBOURS checked, on classifier members only."""
    near = params.get("neighbours")
    if near is None:
        return []
    if params.get("member_kind") != "classifier" or not isinstance(near, dict):
        return ["neighbours must be a dict, and only with classifier members"]
    if "num_classes" not in params:
        return ["neighbours need the ensemble's num_classes"]
    problems = [f"unknown option model.neighbours.{k}" for k in near if k not in NEIGHBOURS]
    for name, rule in NEIGHBOURS.items():
        if why := rule.check(name, near.get(name)):
            problems.append(f"model.neighbours.{name} {why}")
    return problems


def _ensemble_problems(params: dict[str, Any], source: str, error: type[Exception]) -> list[str]:
    """Every member is a valid spec of `member_kind`; the sizes shown on top are all members'."""
    kind, members = params.get("member_kind"), params.get("members")
    if kind not in KINDS:
        return [f"member_kind must be one of {sorted(KINDS)}, got {kind!r}"]
    if not isinstance(members, list) or not 1 <= len(members) <= MAX_MEMBERS:
        return [f"members must be a list of 1 to {MAX_MEMBERS} model specs"]
    known = {*SIZES, "member_kind", "members", "neighbours"}
    problems = [f"unknown option model.{k}" for k in params if k not in known]
    problems += _neighbour_problems(params)
    for i, member in enumerate(members):
        checked = ModelSpec.from_dict(
            {"kind": kind, "params": member}, f"{source} member {i}", error
        )
        problems += [
            f"model.{k} is {params[k]!r} but member {i} has {checked.params.get(k)!r}"
            for k in SIZES
            if k in params and checked.params.get(k) != params[k]
        ]
    return problems


@dataclass(frozen=True)
class ModelSpec:
    """`kind` (a key of KINDS) and the plain keyword arguments of its class."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, source: str, error: type[Exception] = DataError) -> ModelSpec:
        """Check every field (type, range, choice); refuse anything else with `error`."""
        if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
            raise error(f"{source}: not a model spec (want {{'kind': ..., 'params': {{...}}}}).")
        kind = data.get("kind")
        if kind == ENSEMBLE:
            if problems := _ensemble_problems(data["params"], source, error):
                raise error(f"{source}: invalid ensemble model spec: {'; '.join(problems)}.")
            return cls(kind, dict(data["params"]))
        if kind not in KINDS:
            raise error(f"{source}: unknown model kind {kind!r}; known kinds: {sorted(KINDS)}.")
        fields = KINDS[kind][1]
        params = data["params"]
        problems = [f"unknown option model.{name}" for name in params if name not in fields]
        for name, rule in fields.items():
            if name in params and (why := rule.check(name, params[name])):
                problems.append(f"model.{name} {why}")
        if problems:
            raise error(f"{source}: invalid {kind} model spec: {'; '.join(problems)}.")
        return cls(kind, dict(params))

    @classmethod
    def from_config(cls, model: dict[str, Any], sizes: dict[str, Any]) -> ModelSpec:
        """The spec of a training run: our conf/model choice plus the sizes the data dictates."""
        target = model.get("_target_")
        if target not in TARGETS:
            raise ConfigError(
                f"model._target_={target!r} is not one of lstmkit's networks "
                f"({sorted(TARGETS)}); a run must be reloadable from plain data."
            )
        kind = TARGETS[target]
        params = {k: v for k, v in model.items() if k not in NOT_SAVED}
        if kind == "classifier":  # model.json keeps what auto chose, not `null`
            numeric = sizes.get("input_size") is not None
            try:
                params["conv_branch"] = resolve_conv_branch(params.get("conv_branch"), numeric)
            except ValueError as e:
                raise ConfigError(f"{e}; drop the override for text data.") from None
        extra = sorted(set(sizes) - set(KINDS[kind][1]))
        if extra:  # e.g. data=airline with the default model=lstm
            raise ConfigError(
                f"model {target} does not fit this data, which provides {sorted(sizes)}. "
                "Forecasting data needs model=seq2seq; classification data needs model=lstm "
                "or model=gru."
            )
        return cls.from_dict(
            {"kind": kind, "params": {**params, **sizes}}, "model config", ConfigError
        )

    @classmethod
    def load(cls, folder: str | Path) -> ModelSpec:
        """Read and check `<folder>/model.json`."""
        path = Path(folder) / FILE
        data = read_run_json(
            folder,
            FILE,
            "(older runs stored the network as a config to instantiate; retrain it).",
        )
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError(f"{path}: unknown model spec format; expected format {FORMAT}.")
        return cls.from_dict(data, str(path))

    @classmethod
    def ensemble(
        cls, members: list[ModelSpec], neighbours: dict[str, Any] | None = None
    ) -> ModelSpec:
        """The spec of averaging `members` (all of one kind and the same data sizes), and
        blending in a nearest-neighbour member when `neighbours` gives its sizes and weight."""
        first = members[0]
        sizes = {k: first.params[k] for k in SIZES if first.params.get(k) is not None}
        params = {"member_kind": first.kind, "members": [m.params for m in members], **sizes}
        if neighbours is not None:
            params["neighbours"] = dict(neighbours)
        return cls.from_dict({"kind": ENSEMBLE, "params": params}, "ensemble", ConfigError)

    def save(self, folder: str | Path) -> None:
        write_json(Path(folder) / FILE, self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "kind": self.kind, "params": dict(self.params)}

    def build(self, pretrained_embeddings: torch.Tensor | None = None) -> nn.Module:
        """Our class for `kind`, with the checked arguments (no other call is possible)."""
        if self.kind == ENSEMBLE:
            kind = self.params["member_kind"]
            nets = [ModelSpec(kind, p).build() for p in self.params["members"]]
            near = self.params.get("neighbours")
            if near is None:
                return Ensemble(nets, probabilities=kind == "classifier")
            sizes = {k: near[k] for k in ("count", "steps", "width", "beta", "scale")}
            member = NearestNeighbours(num_classes=self.params["num_classes"], **sizes)
            return Ensemble(nets, True, member, near["weight"])
        cls, _ = KINDS[self.kind]
        extra = (
            {}
            if pretrained_embeddings is None
            else {"pretrained_embeddings": pretrained_embeddings}
        )
        try:
            return cls(**self.params, **extra)
        except (ValueError, TypeError, AssertionError) as e:  # e.g. vocab_size and input_size
            raise ConfigError(f"model ({self.kind}): {e}") from None

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter shapes without allocating them: checked against a checkpoint first."""
        with torch.device("meta"):
            net = self.build()
        return {name: tuple(t.shape) for name, t in net.state_dict().items()}
