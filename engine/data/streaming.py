"""Streamed HDF5: ``HDF5Sequence`` reads contiguous batches, never loading the file whole."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import DataBundle, _as_float, _describe, _is_one_hot, _need_path
from engine.data.files import _hdf5_dataset, _open_hdf5
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import DataConfig


# ================================================================ streamed HDF5
_HDF5_SEQUENCE: type | None = None


def _hdf5_sequence_class() -> type:
    """Define the PyDataset subclass on first use, so importing this module stays light."""
    global _HDF5_SEQUENCE
    if _HDF5_SEQUENCE is not None:
        return _HDF5_SEQUENCE
    import keras

    class HDF5Sequence(keras.utils.PyDataset):
        """Contiguous ``[start, stop)`` rows of two HDF5 datasets, read one batch at a time.

        Shuffling permutes the order of batches (each epoch), never the rows within a
        batch, so every read is one contiguous slice. The file is opened on first read
        (and again in each worker process) and never loaded whole.
        """

        def __init__(self, path, x_key, y_key, start, stop, batch_size, *, shuffle=False, seed=None,
                     shift=None, span=None, pixels=False, num_classes=None, **kwargs):
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
                self._x, self._y = self._file[self.x_key], self._file[self.y_key]
            return self._x, self._y

        def rows(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
            """Raw rows ``[lo, hi)`` relative to this split, unscaled."""
            with self._lock:
                x, y = self._datasets()
                return x[self.start + lo : self.start + hi], y[self.start + lo : self.start + hi]

        def __getitem__(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
            if not 0 <= idx < len(self):
                raise IndexError(idx)
            return self.batch(int(self._order[idx]))

        def batch(self, b: int) -> tuple[np.ndarray, np.ndarray]:
            """Batch ``b`` in file order (one contiguous read), scaled and converted as for training."""
            lo = b * self.batch_size
            x, y = self.rows(lo, min(lo + self.batch_size, self.stop - self.start))
            x = _as_float(x)
            if self.pixels:
                x = x.astype("float32") / np.float32(255)
            elif self.shift is not None:
                x = ((x.astype("float64") - self.shift) / self.span).astype("float32")
            if x.ndim == 1:
                x = x[:, None]
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if np.issubdtype(y.dtype, np.integer):
                y = y.astype("int32")
            if self.num_classes is not None:
                y = np.eye(self.num_classes, dtype="float32")[y]
            return x, y

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

            def groups():
                order = self._rng.permutation(n) if shuffle else np.arange(n)
                for i in range(0, n, group):
                    batches = [self.batch(int(b)) for b in order[i : i + group]]
                    if len({len(bx) for bx, _ in batches}) == 1:
                        yield np.stack([bx for bx, _ in batches]), np.stack([by for _, by in batches])
                    else:  # the short last batch cannot be stacked with full ones
                        for bx, by in batches:
                            yield bx[None], by[None]

            spec = tuple(tf.TensorSpec((None, None, *a.shape[1:]), a.dtype) for a in (x0, y0))
            ds = tf.data.Dataset.from_generator(groups, output_signature=spec).unbatch()
            ds = ds.apply(tf.data.experimental.assert_cardinality(n))
            return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds

        def labels(self) -> np.ndarray:
            """Every target of this split (small next to the inputs), for class balance."""
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

    # Importable as engine.data.HDF5Sequence (see the package's __getattr__), so worker processes can unpickle it.
    HDF5Sequence.__module__, HDF5Sequence.__qualname__ = __package__, "HDF5Sequence"
    _HDF5_SEQUENCE = HDF5Sequence
    return HDF5Sequence


def fit_input(ds: Any, *, shuffle: bool = True, prefetch: bool = True) -> Any:
    """What to hand ``fit`` for a bundle's dataset: a streamed HDF5 split becomes its tf.data
    pipeline (``HDF5Sequence.to_dataset``), anything else is returned unchanged.

    Args:
        ds: a ``DataBundle``'s ``train_ds``, ``val_ds`` or ``test_ds``.
        shuffle: the run's ``fit.shuffle``; a streamed split is shuffled (batch order, each
            epoch) only when this and its own ``data.shuffle`` are both on. Defaults to True.
        prefetch: the run's ``data.prefetch``. Defaults to True.
    """
    if _HDF5_SEQUENCE is not None and isinstance(ds, _HDF5_SEQUENCE):
        return ds.to_dataset(shuffle=shuffle and ds.shuffle, prefetch=prefetch)
    return ds


def _hdf5_meta(path: str, x_key: str, y_key: str, prefix: str):
    """(n, sample shape, target kind, class count) without reading x.

    The target kind is "int" (labels; count is max + 1), "onehot" or "regression".
    Labels are small next to the inputs, so they are read whole; a 2-D float target is
    judged one-hot from its first 10,000 rows.
    """
    with _open_hdf5(path, f"{prefix}.path") as f:
        xd = _hdf5_dataset(f, x_key, path, f"{prefix}.x")
        yd = _hdf5_dataset(f, y_key, path, f"{prefix}.y")
        if xd.shape[0] != yd.shape[0]:
            raise DataError(
                f"x has {xd.shape[0]} samples but y has {yd.shape[0]}; they must match", source=path, key=f"{prefix}.y"
            )
        if xd.shape[0] == 0:
            raise DataError("holds no samples", source=path, key=f"{prefix}.x")
        kind, count = "regression", None
        if np.issubdtype(yd.dtype, np.integer) and (len(yd.shape) == 1 or yd.shape[1:] == (1,)):
            labels = yd[()]
            if labels.min() >= 0:
                kind, count = "int", int(labels.max()) + 1
        elif _is_one_hot(yd[: min(10_000, yd.shape[0])]):
            kind, count = "onehot", int(yd.shape[1])
        shape = tuple(int(d) for d in xd.shape[1:]) or (1,)
        return int(xd.shape[0]), shape, kind, count


def _chunked_stats(path: str, x_key: str, start: int, stop: int, mode: str):
    """Per-feature (shift, span) for minmax/standard scaling, read in bounded chunks."""
    import h5py

    with h5py.File(path, "r") as f:
        xd = f[x_key]
        step = max(1, (32 << 20) // max(1, xd.dtype.itemsize * int(np.prod(xd.shape[1:]) or 1)))
        lo = hi = total = total_sq = None
        count = 0
        for a in range(start, stop, step):
            chunk = xd[a : min(a + step, stop)].astype("float64")
            if chunk.ndim == 1:
                chunk = chunk[:, None]
            if mode == "minmax":
                lo = chunk.min(0) if lo is None else np.minimum(lo, chunk.min(0))
                hi = chunk.max(0) if hi is None else np.maximum(hi, chunk.max(0))
            else:
                total = chunk.sum(0) if total is None else total + chunk.sum(0)
                total_sq = (chunk**2).sum(0) if total_sq is None else total_sq + (chunk**2).sum(0)
            count += len(chunk)
    if mode == "minmax":
        return lo, np.where(hi - lo == 0, 1.0, hi - lo)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0))
    return mean, np.where(std == 0, 1.0, std)


def _hdf5_stream(cfg: "DataConfig", seed: int | None, batch_size: int) -> DataBundle:
    path = _need_path(cfg)
    x_key, y_key = (cfg.x or "x").strip("/"), (cfg.y or "y").strip("/")
    n, shape, y_kind, num_classes = _hdf5_meta(path, x_key, y_key, "data")
    refs: dict[str, tuple[str, str, str, int, int | None]] = {}
    for split, ref in (("val", cfg.validation), ("test", cfg.test)):
        if ref is not None:
            rx, ry = (ref.x or x_key).strip("/"), (ref.y or y_key).strip("/")
            rn, rshape, _, rcount = _hdf5_meta(ref.path, rx, ry, f"data.{'validation' if split == 'val' else split}")
            if rshape != shape:
                raise DataError(f"samples have shape {rshape} but the training data's are {shape}", source=ref.path,
                                key=f"data.{'validation' if split == 'val' else split}.x")
            refs[split] = (ref.path, rx, ry, rn, rcount)
    n_test = 0 if "test" in refs else int(round(n * cfg.test_split))
    n_val = 0 if "val" in refs else int(round(n * cfg.validation_split))
    n_train = n - n_val - n_test
    if n_train <= 0:
        raise DataError(f"no training samples left: {n} samples, {n_val} for validation, {n_test} for test",
                        key="data.validation_split")
    train_stop = n_train if cfg.limit is None else min(n_train, cfg.limit)

    integer_y = y_kind == "int"
    if integer_y:
        num_classes = max([num_classes] + [r[4] for r in refs.values() if r[4] is not None])
    task = "classification" if num_classes is not None else "regression"
    if cfg.one_hot and task != "classification":
        raise DataError("needs integer class labels, but the targets are not (regression data?)", key="data.one_hot")

    shift = span = None
    if cfg.scale in ("minmax", "standard"):
        shift, span = _chunked_stats(path, x_key, 0, train_stop, cfg.scale)
    Seq = _hdf5_sequence_class()
    common = dict(batch_size=batch_size, shift=shift, span=span, pixels=cfg.scale == "pixels",
                  num_classes=num_classes if cfg.one_hot and integer_y else None)
    train_ds = Seq(path, x_key, y_key, 0, train_stop, shuffle=cfg.shuffle, seed=seed, **common)

    def split_ds(split: str, lo: int, hi: int):
        if split in refs:
            rpath, rx, ry, rn, _ = refs[split]
            return Seq(rpath, rx, ry, 0, rn, **common), rn
        return (Seq(path, x_key, y_key, lo, hi, **common) if hi > lo else None), hi - lo

    val_ds, n_val_out = split_ds("val", n_train, n_train + n_val)
    test_ds, n_test_out = split_ds("test", n_train + n_val, n)
    bundle = DataBundle(
        None, None, None, None, None, None, train_ds=train_ds, val_ds=val_ds, test_ds=test_ds,
        input_shape=shape, num_classes=num_classes, task=task,
        train_samples=train_stop, val_samples=n_val_out, test_samples=n_test_out,
    )
    bundle.description = _describe(f"hdf5 {Path(path).name} (streamed)", bundle)
    return bundle
