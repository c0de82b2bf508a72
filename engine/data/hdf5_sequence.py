"""``HDF5Sequence``: contiguous rows of HDF5 datasets (inputs, targets; one each or one per name) as a Keras ``PyDataset``.

Imports Keras (it subclasses ``keras.utils.PyDataset``), so ``engine.data.streaming``
imports it only when a streamed split is built or handed to ``fit``.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import keras
import numpy as np

from engine.data.bundle import _as_float
from engine.data.named import apply, count, each

__all__ = ["HDF5Sequence"]


class HDF5Sequence(keras.utils.PyDataset):
    """Contiguous ``[start, stop)`` rows of HDF5 datasets, read one batch at a time.

    The inputs and the targets are one dataset each, or one per input / output name
    (``x_key`` / ``y_key`` dicts): batches are then ``({input: array}, {output: array})``,
    the dicts Keras' functional models take. Shuffling permutes the order of batches
    (each epoch), never the rows within a batch, so every read is one contiguous slice
    per dataset. The file is opened on first read (and again in each worker process)
    and never loaded whole.
    """

    def __init__(
        self,
        path: str,
        x_key: str | dict[str, str],
        y_key: str | dict[str, str],
        start: int,
        stop: int,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int | None = None,
        shift: Any = None,
        span: Any = None,
        pixels: bool = False,
        num_classes: Any = None,
        **kwargs: Any,
    ) -> None:
        """Args:
            path: the HDF5 file.
            x_key: dataset path of the inputs inside it, or input name -> dataset path.
            y_key: dataset path of the targets inside it, or output name -> dataset path.
            start: first row of this split.
            stop: one past its last row.
            batch_size: rows per batch (the last one may be shorter).
            shuffle: visit the batches in a fresh seeded order each epoch. Defaults to False.
            seed: the shuffling seed. Defaults to None (fresh entropy).
            shift: per-feature value subtracted from the inputs (minmax/standard scaling),
                or input name -> such values. Defaults to None, no scaling.
            span: per-feature divisor applied after ``shift`` (or per input name). Defaults to None.
            pixels: divide the inputs by 255 instead. Defaults to False.
            num_classes: one-hot encode integer targets to this many classes, or output
                name -> class count (None: as stored). Defaults to None, targets as stored.
            **kwargs: ``keras.utils.PyDataset``'s (``workers``, ``use_multiprocessing``, ...).
        """
        super().__init__(**kwargs)
        self.path, self.x_key, self.y_key = path, x_key, y_key
        self.start, self.stop, self.batch_size = start, stop, batch_size
        self.shuffle, self.shift, self.span, self.pixels = shuffle, shift, span, pixels
        self.num_classes = num_classes
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self))
        self._file = self._x = self._y = None
        self._lock = threading.Lock()
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self) -> int:
        return math.ceil((self.stop - self.start) / self.batch_size)

    def _datasets(self):
        # Open once and keep the two dataset objects: looking a dataset up by name and
        # building a fresh h5py Dataset for every batch cost twenty times the read itself.
        if self._file is None:
            import h5py

            self._file = h5py.File(self.path, "r")
            f = self._file
            self._x = {k: f[v] for k, v in self.x_key.items()} if isinstance(self.x_key, dict) else f[self.x_key]
            self._y = {k: f[v] for k, v in self.y_key.items()} if isinstance(self.y_key, dict) else f[self.y_key]
        return self._x, self._y

    def rows(self, lo: int, hi: int) -> tuple[Any, Any]:
        """Raw rows ``[lo, hi)`` relative to this split, unscaled: arrays, or dicts of them."""
        with self._lock:
            x, y = self._datasets()
            rows = slice(self.start + lo, self.start + hi)
            return apply(lambda d: d[rows], x), apply(lambda d: d[rows], y)

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        if not 0 <= idx < len(self):
            raise IndexError(idx)
        return self.batch(int(self._order[idx]))

    def batch(self, b: int) -> tuple[Any, Any]:
        """Batch ``b`` in file order (one contiguous read per dataset), scaled and converted as for training."""
        lo = b * self.batch_size
        x, y = self.rows(lo, min(lo + self.batch_size, self.stop - self.start))
        if isinstance(x, dict):
            x = {name: self._inputs(a, name) for name, a in x.items()}
        else:
            x = self._inputs(x, None)
        if isinstance(y, dict):
            return x, {name: self._targets(a, name) for name, a in y.items()}
        return x, self._targets(y, None)

    @staticmethod
    def _named(value: Any, name: str | None) -> Any:
        return value.get(name) if isinstance(value, dict) else value

    def _inputs(self, x: np.ndarray, name: str | None) -> np.ndarray:
        x = _as_float(x)
        shift, span = self._named(self.shift, name), self._named(self.span, name)
        if self.pixels:
            x = x.astype("float32") / np.float32(255)
        elif shift is not None:
            x = ((x.astype("float64") - shift) / span).astype("float32")
        return x[:, None] if x.ndim == 1 else x

    def _targets(self, y: np.ndarray, name: str | None) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if np.issubdtype(y.dtype, np.integer):
            y = y.astype("int32")
        y = _as_float(y)
        num_classes = self._named(self.num_classes, name)
        if num_classes is not None:
            y = np.eye(num_classes, dtype="float32")[y]
        return y

    def to_dataset(self, shuffle: bool | None = None, prefetch: bool = True, group: int = 8) -> Any:
        """The same batches as a ``tf.data`` pipeline, which is what kwb hands ``fit``.

        Keras feeds a PyDataset to TensorFlow through a Python generator, one call per
        batch, and that per-call machinery costs far more than the read itself. Here one
        call hands over ``group`` batches (each still one contiguous read), stacked, and
        tf.data splits them again: about half the CPU per batch, which on a busy CPU is
        the difference between streaming at in-memory speed and falling behind.

        Args:
            shuffle: visit the batches in a fresh (seeded) order every epoch. Defaults to
                None, this sequence's own ``shuffle``.
            prefetch: prepare the next batches while the model trains. Defaults to True.
            group: batches per Python call. Defaults to 8.
        """
        import tensorflow as tf

        shuffle = self.shuffle if shuffle is None else shuffle
        n = len(self)
        x0, y0 = self.batch(0)

        def stack(parts: list[Any]) -> Any:
            if isinstance(parts[0], dict):
                return {k: np.stack([p[k] for p in parts]) for k in parts[0]}
            return np.stack(parts)

        def groups():
            order = self._rng.permutation(n) if shuffle else np.arange(n)
            for i in range(0, n, group):
                batches = [self.batch(int(b)) for b in order[i : i + group]]
                if len({count(bx) for bx, _ in batches}) == 1:
                    yield stack([bx for bx, _ in batches]), stack([by for _, by in batches])
                else:  # the short last batch cannot be stacked with full ones
                    for bx, by in batches:
                        yield apply(lambda a: a[None], bx), apply(lambda a: a[None], by)

        def spec_of(a: Any) -> Any:
            if isinstance(a, dict):
                return {k: tf.TensorSpec((None, None, *v.shape[1:]), v.dtype) for k, v in each(a)}
            return tf.TensorSpec((None, None, *a.shape[1:]), a.dtype)

        spec = (spec_of(x0), spec_of(y0))
        ds = tf.data.Dataset.from_generator(groups, output_signature=spec).unbatch()
        ds = ds.apply(tf.data.experimental.assert_cardinality(n))
        return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds

    def labels(self) -> Any:
        """Every target of this split (small next to the inputs), for class balance: an array, or one per output."""
        return self.rows(0, self.stop - self.start)[1]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self._order)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = self._x = self._y = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"] = state["_x"] = state["_y"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
