"""Benchmark pieces behind `python -m benchmarks` (`make bench`), each measuring one thing.

Kept beside the library, not inside it (as nanoGPT keeps bench.py): users never import it.
"""
