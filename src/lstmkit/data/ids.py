"""Ids and labels that differ only by case or surrounding whitespace: named, not silently split."""

from __future__ import annotations

import logging

import pandas as pd

log = logging.getLogger(__name__)


def case_variants(values: pd.Series, limit: int = 5) -> list[list[str]]:
    """Groups of distinct values equal once stripped and case-folded ("Sport", "sport ")."""
    distinct = pd.Series(values.dropna().astype("string").unique())
    if distinct.empty:
        return []
    key = distinct.str.strip().str.casefold()
    groups = distinct.groupby(key.to_numpy()).agg(list)
    return [sorted(g) for g in groups if len(g) > 1][:limit]


def warn_variants(values: pd.Series, where: str, column: str, plural: str) -> list[list[str]]:
    """Log each group of look-alike values kept apart; returns the groups (for tests and reports).

    Kept apart rather than merged: `Apple` and `apple` may be two stores. If they are one,
    fix the file.
    """
    groups = case_variants(values)
    if groups:
        log.warning(
            "%s: column %r holds %s that differ only by case or surrounding whitespace: %s. "
            "They are kept as different %s; if they are the same, make them identical in the file.",
            where,
            column,
            plural,
            "; ".join(" / ".join(repr(v) for v in g) for g in groups),
            plural,
        )
    return groups
