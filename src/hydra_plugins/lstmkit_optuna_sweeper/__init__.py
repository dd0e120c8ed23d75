"""Our Optuna sweeper for Hydra: current Optuna, seeded TPE, SQLite resume, pruning, failures.

Hydra finds it because `hydra_plugins` is a namespace package shipped by this project
(src/ is installed); modules starting with `_` are skipped by Hydra's plugin scan, so
`_impl` (which imports optuna) loads only when a sweep uses it.
"""
