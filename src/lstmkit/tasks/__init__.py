"""Thin LightningModules: loss, metrics, optimiser wiring and logging around a plain network."""
