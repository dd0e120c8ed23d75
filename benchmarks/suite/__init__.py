"""The development suite (`scripts/suite.py`): unseen data beside classical baselines."""
