"""Shared fixtures; plain helpers live in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_text_frame


@pytest.fixture
def text_csv(tmp_path: Path) -> Path:
    path = tmp_path / "texts.csv"
    make_text_frame().to_csv(path, index=False)
    return path
