"""Ragged arrays: every variable-length example stored as one flat array plus offsets.

One contiguous array per split is cheap to cache, to memory-map and to batch: a batch is a
single vectorised gather, never a Python loop over tokens.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Ragged:
    """`values[offsets[i]:offsets[i+1]]` is example i; values may carry trailing feature dims."""

    values: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or self.offsets[0] != 0 or self.offsets[-1] != len(self.values):
            raise ValueError("offsets must start at 0 and end at len(values)")

    @classmethod
    def from_lengths(cls, values: np.ndarray, lengths: np.ndarray) -> Ragged:
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(values, offsets)

    @classmethod
    def from_list(cls, rows: list[np.ndarray], dtype: np.dtype | type = np.int32) -> Ragged:
        """Build from a list of per-example arrays (for tests and small inputs)."""
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        values = np.concatenate(rows).astype(dtype) if rows else np.zeros(0, dtype=dtype)
        return cls.from_lengths(values, lengths)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def take(self, index: np.ndarray) -> Ragged:
        """A new Ragged holding the examples at `index`, in that order."""
        index = np.asarray(index, dtype=np.int64)
        lengths = self.lengths[index]
        starts = np.repeat(self.offsets[index], lengths)
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return Ragged.from_lengths(self.values[starts + within], lengths)

    def pad(
        self, index: np.ndarray, max_length: int | None = None, pad_value: float = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gather examples `index` into a right-padded [B, T, ...] array and its [B, T] mask."""
        starts = self.offsets[index]
        lengths = self.offsets[np.asarray(index) + 1] - starts
        width = int(lengths.max(initial=0)) if max_length is None else max_length
        steps = np.arange(width)
        mask = steps[None, :] < lengths[:, None]
        flat = np.where(mask, starts[:, None] + steps[None, :], 0)
        padded = self.values[flat] if len(self.values) else np.zeros(flat.shape, self.values.dtype)
        padded[~mask] = pad_value
        return padded, mask

    def save(self, path: Path) -> None:
        np.save(path.with_suffix(".values.npy"), self.values)
        np.save(path.with_suffix(".offsets.npy"), self.offsets)

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> Ragged:
        """Memory-mapped by default: a batch reads only its own rows from disk."""
        mode: Literal["r"] | None = "r" if mmap else None
        return cls(
            np.load(path.with_suffix(".values.npy"), mmap_mode=mode),
            np.load(path.with_suffix(".offsets.npy"), mmap_mode=mode),
        )


def value_counts(values: np.ndarray, size: int, block: int = 1 << 22) -> np.ndarray:
    """How often each id in [0, size) occurs, a block at a time: a memory-mapped split is never
    copied whole (`np.bincount` on all of it would hold an int64 copy of every token)."""
    counts = np.zeros(size, dtype=np.int64)
    for start in range(0, len(values), block):
        part = np.asarray(values[start : start + block], dtype=np.int64)
        counts += np.bincount(part, minlength=size)[:size]
    return counts


class RaggedWriter:
    """Append examples chunk by chunk to the files `Ragged.save` writes, never all in memory.

    The values go straight to disk behind a fixed-size `.npy` header that is filled in on
    `close`, once the total length is known; only the per-example lengths stay in memory.
    """

    HEADER = 128  # bytes: a version-1 header of any one-dimensional shape fits

    def __init__(self, path: Path, dtype: np.dtype | type = np.int32) -> None:
        self.path, self.dtype = path, np.dtype(dtype)
        self.file = open(path.with_suffix(".values.npy"), "wb")
        self.file.write(b"\0" * self.HEADER)
        self.lengths: list[np.ndarray] = []
        self.total = 0

    def append(self, part: Ragged) -> None:
        """Add `part`'s examples after those already written."""
        values = np.ascontiguousarray(part.values, dtype=self.dtype)
        self.file.write(values.tobytes())
        self.total += len(values)
        self.lengths.append(part.lengths)

    def close(self) -> None:
        """Write the header and the offsets: the files now load like `Ragged.save`'s."""
        header = io.BytesIO()
        info = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False}
        np.lib.format.write_array_header_1_0(header, {**info, "shape": (self.total,)})
        if header.tell() != self.HEADER:
            raise AssertionError(f"npy header is {header.tell()} bytes, not {self.HEADER}")
        self.file.seek(0)
        self.file.write(header.getvalue())
        self.file.close()
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        np.save(self.path.with_suffix(".offsets.npy"), offsets)
