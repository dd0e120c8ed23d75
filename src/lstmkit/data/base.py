"""The one shape of every DataModule: a CSV in, cached train/val/test splits out.

A new kind of dataset is one subclass of `CsvDataModule` in one file, plus one
`conf/data/<kind>_csv.yaml` whose `_target_` names it. The subclass writes these hooks:

- `_cache_config()`: every setting that changes the encoded arrays (part of the cache key);
- `_build(out)`: read and validate the CSV, split, fit preprocessing on train only, and write
  the arrays and `preprocessor_files` into the folder `out`;
- `_load(folder)`: fill `self.splits` (one Dataset per split) from a complete cache folder;
- `_loader(split, train, replicas)`: a DataLoader for one split, sharded by `replicas` under DDP;
- `model_kwargs()` / `task_kwargs()`: the sizes the network needs, the facts the task needs.

The base class owns the rest, the same for every kind: `prepare_data` (built-in datasets), the
cached `setup` (hit, miss, damaged entries, leftovers of killed runs), `save_preprocessor`
(the run folder gets the cache's preprocessor files) and the `*_dataloader` hooks.
"""

from __future__ import annotations

import logging
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
from torch.utils.data import DataLoader, Dataset

from lstmkit.data import builtin
from lstmkit.data.cache import cache_key, damage, discard, publish
from lstmkit.data.csv import read_csv
from lstmkit.data.replicas import Replicas
from lstmkit.errors import ConfigError

log = logging.getLogger(__name__)


class CsvDataModule(L.LightningDataModule, ABC):
    """Reads one CSV, caches its encoded splits, serves batches; subclasses say how (see module)."""

    kind: ClassVar[str]  # "text", "sequences", ...: part of the cache key
    preprocessor_files: ClassVar[tuple[str, ...]] = ("preprocessor.json", "meta.json")

    def __init__(
        self,
        path: str,
        *,
        seed: int = 42,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        encoding: str = "utf-8",
        delimiter: str = ",",
        builtin: str | None = None,
        cache_dir: str = "outputs/cache",
        use_cache: bool = True,
    ) -> None:
        """The options every kind shares; a subclass takes its own and passes `**common` on.

        `eval_batch_size` defaults to twice `batch_size`; `builtin` names a dataset that
        `prepare_data` writes to `path` from an installed package; `use_cache=false` encodes
        again even when an entry exists.
        """
        super().__init__()
        if int(batch_size) < 1:
            raise ConfigError(f"data.batch_size must be >= 1, got {batch_size}.")
        self.path = Path(path)
        self.seed = seed
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size or 2 * self.batch_size)
        self.num_workers = num_workers
        self.encoding, self.delimiter = encoding, delimiter
        self.builtin, self.cache_dir, self.use_cache = builtin, Path(cache_dir), use_cache
        # read-only here: subclasses fill it with their own Dataset type
        self.splits: Mapping[str, Dataset] = {}
        self.cache_folder: Path | None = None
        self.cache_hit: bool | None = None  # None until setup() ran

    # -- the hooks a dataset kind writes --------------------------------------------------------
    @abstractmethod
    def _cache_config(self) -> dict[str, Any]:
        """Every setting that changes what `_build` writes (batching settings do not).

        The base class adds the kind, the file's bytes and how it is read (encoding, delimiter).
        """

    @abstractmethod
    def _build(self, out: Path) -> None:
        """Read, validate, split, fit on train and encode; write everything into `out`."""

    @abstractmethod
    def _load(self, folder: Path) -> None:
        """Fill `self.splits` (and the fitted preprocessing) from a complete cache folder."""

    @abstractmethod
    def _loader(self, split: str, train: bool, replicas: Replicas) -> DataLoader:
        """Batches of one split; `train` shuffles, and under DDP each rank takes its share."""

    @abstractmethod
    def model_kwargs(self) -> dict[str, Any]:
        """Sizes the network must match: passed to `instantiate(cfg.model, **kwargs)`."""

    @abstractmethod
    def task_kwargs(self) -> dict[str, Any]:
        """Facts the LightningModule needs (plain containers: they go into the checkpoint)."""

    def repeat_train(self, times: int) -> bool:
        """Run the training data `times` times in each epoch (counted from one pass, not from the
        last call), for the training budget on small sets; False where this kind cannot (the
        budget then adds epochs instead)."""
        return False

    # -- Lightning hooks ------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Materialise a built-in dataset's CSV from its installed package if it is missing."""
        if self.builtin:
            builtin.materialise(self.builtin, self.path)

    def setup(self, stage: str | None = None) -> None:
        """Load the cached splits, or build and cache them; a damaged entry is rebuilt."""
        if self.splits:
            return
        self.prepare_data()  # idempotent; covers callers that skip prepare_data (tests, predict)
        if not self.path.is_file():
            read_csv(self.path, {}, self.encoding, self.delimiter)  # raises the clear error
        settings = {"kind": self.kind, "read": [self.encoding, self.delimiter]}
        folder = self.cache_dir / cache_key(settings | self._cache_config(), self.path)
        self.cache_folder = folder
        problem = damage(folder) if folder.exists() else None
        if problem:
            log.warning("preprocessing cache %s is damaged (%s): rebuilding it", folder, problem)
            discard(folder)
        self.cache_hit = self.use_cache and folder.is_dir()
        if self.cache_hit:
            log.info("preprocessing cache hit: %s (reading and encoding skipped)", folder)
        else:
            start = time.perf_counter()
            publish(folder, self._build)
            log.info(
                "preprocessing cache miss: read and encoded in %.2fs, cached in %s",
                time.perf_counter() - start,
                folder,
            )
        self._load(folder)

    def save_preprocessor(self, folder: str | Path) -> None:
        """Copy the fitted preprocessing (what predict needs) from the cache into the run folder."""
        assert self.cache_folder is not None, "call setup() first"
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.preprocessor_files:
            shutil.copy2(self.cache_folder / name, folder / name)

    def replicas(self) -> Replicas:
        """Where this process stands: from the trainer under fit/test, else a single process."""
        return Replicas.of(self.trainer)

    def _dataloader(self, split: str, train: bool) -> DataLoader:
        if split not in self.splits:
            self.setup()
        return self._loader(split, train, self.replicas())

    def train_dataloader(self) -> DataLoader:
        return self._dataloader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._dataloader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._dataloader("test", train=False)
