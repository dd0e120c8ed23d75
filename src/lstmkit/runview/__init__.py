"""Look at a finished run from its folder alone (`scripts/show_run.py`).

A run folder is read as data: YAML through OmegaConf without resolving or instantiating
anything, JSON and CSV files, TensorBoard event files through `EventAccumulator`.
"""
