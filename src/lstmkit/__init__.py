"""lstmkit: efficient LSTM networks, from raw CSV to trained, swept and inspected models."""

__version__ = "0.1.0"
