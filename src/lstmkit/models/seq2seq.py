"""Seq2seq forecaster: LSTM encoder, then an autoregressive LSTM decoder or a direct head.

Plain `nn.Module`: no Lightning, no Hydra. The encoder is the shared `RecurrentEncoder`
(exact on padded batches). The decoder steps over the horizon feeding back its own previous
prediction (free running) or, with probability `teacher_forcing`, the true previous value;
optional Luong attention looks at every encoder output at each step. `head=direct` maps the
encoder's final state to the whole horizon at once, the simpler alternative.

`anchor` sets what the network's output is added to. `seasonal` (the default): step t of
the horizon starts from the seasonal-naive forecast, the value one season before it
(y[origin - season + (t mod season)]; season 1 is the naive forecast, the last value).
`last`: every step starts from the window's last value. `none`: the output is the level
itself. `anchor_alpha` < 1 smooths the seasonal anchor: step t averages the values of its
phase over the seasons the window holds, weights alpha * (1 - alpha)^k for k seasons further
back (`models/smoothing.py`; 1, the default and what older run folders load as, is seasonal
naive itself). With an anchor the inputs are read relative to the window's last value and the
output layer starts at zero, so an untrained network forecasts exactly the anchor and
training moves it only as far as the training windows say: a short series, with few windows,
no longer starts from a forecast worse than the simplest baseline. A trend carries the series
outside the training range of levels, but not of changes. `relative` is the older switch
(true = `last`, false = `none`), read from run folders saved before `anchor` existed.

`quantiles=[0.1, 0.5, 0.9]` makes the network forecast those quantiles of each step
(trained with the pinball loss): the output gains a last axis, one entry per quantile, and
the autoregressive decoder feeds back its median (the quantile nearest 0.5). The levels
never cross: the head predicts the median and positive (softplus) gaps to the next level
up or down, so a lower level is never above a higher one, trained or not.

Known-future inputs (`future_size` > 0: calendar features, promotions...) are the last
`future_size` columns of `inputs` for the past steps, and `future` [B, horizon, future_size]
for the forecast steps: the decoder reads step t's values beside its previous prediction (the
direct head reads them all, flattened, beside the encoder's state). `series_embedding` > 0
learns one vector per series id (`series` [B]) and feeds it to the encoder and decoder at
every step, so one network over many series can tell them apart.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from lstmkit.models.init import keras_init_rnn
from lstmkit.models.recurrent import CELLS, RecurrentEncoder, step_mask
from lstmkit.models.smoothing import smoothed_anchor

HEADS = ("autoregressive", "direct")
ANCHORS = ("seasonal", "last", "none")


def ordered(raw: torch.Tensor, median: int) -> torch.Tensor:
    """Quantiles that cannot cross: [..., Q] raw outputs -> median, median +/- summed gaps."""
    centre = raw[..., median : median + 1]
    gaps = F.softplus(raw)
    below = centre - gaps[..., :median].flip(-1).cumsum(-1).flip(-1)
    above = centre + gaps[..., median + 1 :].cumsum(-1)
    return torch.cat([below, centre, above], dim=-1)


class Seq2SeqForecaster(nn.Module):
    """inputs [B, T, F] (targets first, then covariates, known-future columns last) ->
    forecast [B, horizon, num_targets] ([B, horizon, num_targets, len(quantiles)] with
    quantiles)."""

    def __init__(
        self,
        input_size: int,
        horizon: int,
        num_targets: int = 1,
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        cell: str = "lstm",
        head: str = "autoregressive",
        attention: bool = False,
        anchor: str = "seasonal",
        season: int = 1,
        anchor_alpha: float = 1.0,
        relative: bool | None = None,
        backend: str = "auto",
        init: str = "keras",
        quantiles: list[float] | None = None,
        future_size: int = 0,
        num_series: int = 1,
        series_embedding: int = 0,
    ) -> None:
        super().__init__()
        levels = list(quantiles or [])
        if levels and (sorted(set(levels)) != levels or not all(0 < q < 1 for q in levels)):
            raise ValueError(f"model.quantiles must be increasing and inside (0, 1), got {levels}")
        self.quantiles = levels
        self.outputs = max(1, len(levels))
        self.median = min(range(len(levels)), key=lambda i: abs(levels[i] - 0.5)) if levels else 0
        # conformal offsets per level (scaled units), set from validation by the task
        self.register_buffer("widen", torch.zeros(len(levels)))
        if head not in HEADS:
            raise ValueError(f"model.head must be one of {HEADS}, got {head!r}")
        if horizon < 1 or not 1 <= num_targets <= input_size - future_size:
            raise ValueError(
                "horizon must be >= 1 and 1 <= num_targets <= input_size - future_size"
            )
        self.future_size, self.series_embedding = future_size, series_embedding
        self.embedding = nn.Embedding(num_series, series_embedding) if series_embedding else None
        self.horizon, self.num_targets, self.head_kind = horizon, num_targets, head
        if relative is not None:  # a run folder saved before `anchor`
            anchor = "last" if relative else "none"
        if anchor not in ANCHORS or season < 1 or not 0 < anchor_alpha <= 1:
            raise ValueError(
                f"model.anchor must be one of {ANCHORS}, season >= 1 and 0 < anchor_alpha <= 1, "
                f"got {anchor!r}, {season}, {anchor_alpha}"
            )
        seasonal = anchor == "seasonal"
        self.anchor, self.season = anchor, season if seasonal else 1
        self.anchor_alpha = float(anchor_alpha) if seasonal else 1.0
        self.relative = anchor != "none"
        self.attention, self.cell = attention, cell
        self.encoder = RecurrentEncoder(
            input_size + series_embedding,
            hidden_size,
            num_layers,
            bidirectional=False,
            dropout=dropout,
            cell=cell,
            backend=backend,
        )
        if head == "direct":
            self.head = nn.Linear(
                hidden_size + horizon * future_size, horizon * num_targets * self.outputs
            )
        else:
            # a decoder steps one value at a time and carries its state, which RecurrentEncoder
            # (whole padded sequences, no state in) does not expose: a plain nn.LSTM core here
            self.decoder = CELLS[cell](
                num_targets + future_size + series_embedding,
                hidden_size,
                num_layers,
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            self.init_state = nn.Linear(hidden_size, 2 * num_layers * hidden_size)
            width = 2 * hidden_size if attention else hidden_size
            self.score = nn.Linear(hidden_size, hidden_size, bias=False) if attention else None
            self.head = nn.Linear(width, num_targets * self.outputs)
            if init == "keras":
                keras_init_rnn(self.decoder)
        if init == "keras":
            for module in self.encoder.modules():
                if isinstance(module, (nn.LSTM, nn.GRU)):
                    keras_init_rnn(module)
        if self.relative:  # an untrained network forecasts the anchor itself
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(
        self,
        inputs: torch.Tensor,
        lengths: torch.Tensor,
        future: torch.Tensor | None = None,
        series: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        teacher_forcing: float = 0.0,
    ) -> torch.Tensor:
        """Forecast the next `horizon` steps; `targets` are read only when teacher forcing.

        `future` [B, horizon, future_size] and `series` [B] are needed exactly when the
        network was built with known-future inputs / a series embedding.
        """
        known, embedded = self._extra(inputs, future, series)
        rows = torch.arange(inputs.size(0), device=inputs.device)
        last = inputs[rows, lengths.to(inputs.device) - 1, : self.num_targets]  # [B, C]
        x = inputs
        if self.relative:
            x = torch.cat(
                [inputs[..., : self.num_targets] - last[:, None], inputs[..., self.num_targets :]],
                dim=-1,
            )
        if self.embedding is not None:
            x = torch.cat([x, embedded[:, None].expand(-1, x.size(1), -1)], dim=-1)
        outputs, final = self.encoder(x, lengths)
        shift = self._shift(inputs, lengths, last)  # [B, H, C]: the anchor, less the last value
        if self.head_kind == "direct":
            forecast = self.head(torch.cat([final, known.flatten(1)], dim=-1))
            forecast = forecast.view(-1, self.horizon, self.num_targets, self.outputs)
            forecast = ordered(forecast, self.median) if self.quantiles else forecast
            forecast = forecast + shift[..., None]
        else:
            repeated = embedded[:, None].expand(-1, self.horizon, -1)
            steps = torch.cat([known, repeated], dim=-1)  # [B, H, K + E]
            forecast = self._decode(
                outputs, final, lengths, last, shift, steps, targets, teacher_forcing
            )
        if self.relative:
            forecast = forecast + last[:, None, :, None]
        return forecast + self.widen if self.quantiles else forecast[..., 0]

    def untrained(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """What this network forecasts with its output layer at zero: the anchor alone, in the
        forward's shape. Scored on validation, it is the candidate the trained network must
        beat (`lstmkit.anchor_fallback`)."""
        rows = torch.arange(inputs.size(0), device=inputs.device)
        last = inputs[rows, lengths.to(inputs.device) - 1, : self.num_targets]
        level = self._shift(inputs, lengths, last) + (last[:, None] if self.relative else 0.0)
        if not self.quantiles:
            return level
        zero = level.new_zeros(*level.shape, self.outputs)
        widen = cast(torch.Tensor, self.widen)  # a buffer: the conformal offsets
        return ordered(zero, self.median) + level[..., None] + widen

    def _shift(
        self, inputs: torch.Tensor, lengths: torch.Tensor, last: torch.Tensor
    ) -> torch.Tensor:
        """Seasonal anchor minus the last value per step [B, H, C] (zeros unless seasonal).

        Step t reads the input steps `length - season * (k + 1) + (t mod season)`, which needs
        an input at least one season long (the data module anchors at the last value
        otherwise); with anchor_alpha = 1 only k = 0, the seasonal-naive value."""
        if self.season == 1 and self.anchor_alpha == 1:
            return last.new_zeros(last.size(0), self.horizon, self.num_targets)
        values = inputs[..., : self.num_targets]
        lengths = lengths.to(inputs.device)
        anchor = smoothed_anchor(values, lengths, self.horizon, self.season, self.anchor_alpha)
        return anchor - last[:, None]

    def _extra(
        self, inputs: torch.Tensor, future: torch.Tensor | None, series: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked known-future values [B, H, K] and series vectors [B, E] (K, E may be 0)."""
        batch = inputs.size(0)
        if self.future_size and (
            future is None or future.shape[1:] != (self.horizon, self.future_size)
        ):
            raise ValueError(
                f"this network reads known-future inputs: future must be [batch, {self.horizon}, "
                f"{self.future_size}], got {None if future is None else tuple(future.shape)}"
            )
        if self.embedding is not None and series is None:
            raise ValueError("this network has a series embedding: pass series ids [batch]")
        known = inputs.new_zeros(batch, self.horizon, 0)
        if self.future_size and future is not None:
            known = future
        embedded = inputs.new_zeros(batch, 0)
        if self.embedding is not None and series is not None:
            embedded = self.embedding(series.long())
        return known, embedded

    def _decode(
        self,
        memory: torch.Tensor,
        final: torch.Tensor,
        lengths: torch.Tensor,
        last: torch.Tensor,
        shift: torch.Tensor,
        known: torch.Tensor,
        targets: torch.Tensor | None,
        ratio: float,
    ) -> torch.Tensor:
        layers = self.decoder.num_layers
        h, c = (
            self.init_state(final)
            .tanh()
            .view(-1, 2 * layers, self.decoder.hidden_size)
            .transpose(0, 1)
            .contiguous()
            .chunk(2)
        )
        state = (h.contiguous(), c.contiguous()) if self.cell == "lstm" else h.contiguous()
        mask = step_mask(lengths.to(memory.device), memory.size(1))
        offset = last[:, None] if self.relative else 0.0
        previous = (last - last)[:, None] if self.relative else last[:, None]  # [B, 1, C]
        use_truth = targets is not None and ratio > 0
        steps = []
        for t in range(self.horizon):
            out, state = self.decoder(torch.cat([previous, known[:, t : t + 1]], -1), state)
            if self.score is not None:
                scores = torch.einsum("bh,bth->bt", self.score(out[:, 0]), memory)
                weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
                out = torch.cat([out, torch.einsum("bt,bth->bh", weights, memory)[:, None]], -1)
            step = self.head(out).view(-1, 1, self.num_targets, self.outputs)  # [B, 1, C, Q]
            step = ordered(step, self.median) if self.quantiles else step
            step = step + shift[:, t : t + 1, :, None]
            steps.append(step)
            step = step[..., self.median]
            previous = step
            if use_truth and targets is not None and t + 1 < self.horizon:
                forced = torch.rand(step.size(0), 1, 1, device=step.device) < ratio
                truth = targets[:, t : t + 1] - offset
                previous = torch.where(forced, truth, step)
        return torch.cat(steps, dim=1)
