"""Lightning callbacks of our own, one per file; `conf/callbacks/default.yaml` wires them in.

- `progress`: a tqdm bar in a terminal, a step-rate log line every N steps when piped
- `epoch_summary`: one log line per epoch (metrics and wall time), also kept as epochs.csv
- `epoch_seed`: reseed at each epoch from (seed, epoch), so a resumed run replays exactly
- `finite_loss`: stop on the first NaN / inf training loss, naming the step
- `best_metric`: track the sweep objective (best validation value over epochs)
- `pruning`: report each epoch to the Optuna trial and prune hopeless ones
- `weight_averaging`: an EMA of the weights for validation, checkpoints and test (text data)
- `inspection`: TensorBoard HParams, confusion matrix and per-class scores, embedding projector
"""
