"""Sequence classifier: input layer -> recurrent encoder -> pooling (+ conv branch) -> head."""

from __future__ import annotations

import torch
from torch import nn

from lstmkit.models.conv_branch import ConvBranch, resolve
from lstmkit.models.init import keras_init_embedding, keras_init_rnn
from lstmkit.models.pooling import Pooling
from lstmkit.models.recurrent import RecurrentEncoder


class RecurrentClassifier(nn.Module):
    """Token ids (`vocab_size`) or numeric features (`input_size`) in, class logits out.

    Text gets an embedding; numeric sequences get a linear input projection in its place.
    Everything after the input layer is shared. Numeric input may add a convolutional
    branch over the raw steps (`conv_branch`, models/conv_branch.py); `patch` is the data's
    patch size, so the branch can undo the patching.
    """

    def __init__(
        self,
        num_classes: int,
        vocab_size: int | None = None,
        input_size: int | None = None,
        embedding_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.2,
        embedding_dropout: float = 0.0,
        head_dropout: float = 0.3,
        pooling: str = "mean",
        cell: str = "lstm",
        backend: str = "auto",
        init: str = "keras",
        pretrained_embeddings: torch.Tensor | None = None,
        freeze_embeddings: bool = False,
        padding_idx: int = 0,
        conv_branch: bool | None = None,
        patch: int = 1,
    ) -> None:
        super().__init__()
        if (vocab_size is None) == (input_size is None):
            raise ValueError("give exactly one of vocab_size (text) or input_size (numeric)")
        if init not in ("keras", "torch"):
            raise ValueError(f"model.init must be 'keras' or 'torch', got {init!r}")
        if vocab_size is not None:
            self.input_layer: nn.Module = nn.Embedding(
                vocab_size, embedding_dim, padding_idx=padding_idx
            )
        else:
            assert input_size is not None  # exactly one of the two, checked above
            self.input_layer = nn.Linear(input_size, embedding_dim)
        # dropout on the embedded inputs: the strongest regulariser on small text datasets
        self.input_dropout = nn.Dropout(embedding_dropout)
        self.encoder = RecurrentEncoder(
            embedding_dim, hidden_size, num_layers, bidirectional, dropout, cell, backend
        )
        self.pooling = Pooling(pooling, self.encoder.output_size, zero_past_end=True)
        self.conv: ConvBranch | None = None
        features = self.encoder.output_size
        if resolve(conv_branch, numeric=input_size is not None):
            assert input_size is not None  # resolve() refuses the branch for text
            if input_size % patch:
                raise ValueError(f"input_size {input_size} is not a multiple of patch {patch}")
            self.conv = ConvBranch(input_size // patch, patch)
            features += self.conv.output_size
        self.head = nn.Sequential(nn.Dropout(head_dropout), nn.Linear(features, num_classes))
        if init == "keras":
            self._keras_init()
        if pretrained_embeddings is not None:
            if not isinstance(self.input_layer, nn.Embedding):
                raise ValueError("pretrained embeddings apply to text models only")
            with torch.no_grad():
                self.input_layer.weight.copy_(pretrained_embeddings)
        if freeze_embeddings:
            self.input_layer.weight.requires_grad_(False)

    def _keras_init(self) -> None:
        if isinstance(self.input_layer, nn.Embedding):
            keras_init_embedding(self.input_layer)
        for module in self.encoder.modules():
            if isinstance(module, (nn.LSTM, nn.GRU)):
                keras_init_rnn(module)
        for module in (self.input_layer, self.head[1]):
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """inputs [B, T] ids or [B, T, F] features; lengths [B] -> logits [B, num_classes]."""
        # embedded time-major, handed over as a [B, T, E] view: the encoder runs time-major
        x = self.input_dropout(self.input_layer(inputs.transpose(0, 1))).transpose(0, 1)
        if self.pooling.mode == "mean":  # the same mean, without materialising masked outputs
            pooled = self.encoder.mean(x, lengths)
        else:
            outputs, final = self.encoder(x, lengths)
            pooled = self.pooling(outputs, lengths, final)
        if self.conv is not None:
            pooled = torch.cat([pooled, self.conv(inputs, lengths)], dim=1)
        return self.head(pooled)
