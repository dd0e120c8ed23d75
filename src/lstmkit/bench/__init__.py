"""Benchmark pieces behind `scripts/bench.py` (`make bench`): each measures one thing."""
