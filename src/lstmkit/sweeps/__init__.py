"""Sweeps: the objective a job returns, job status, run names, and the multirun summary."""
