"""Streamed HDF5: a ``DataBundle`` of ``HDF5Sequence`` splits (contiguous batches, never the whole file), and ``fit_input``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import DataBundle, _describe, _is_one_hot, _need_path
from engine.data.files import _hdf5_dataset, _open_hdf5
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import DataConfig


def fit_input(ds: Any, *, shuffle: bool = True, prefetch: bool = True) -> Any:
    """What to hand ``fit`` for a bundle's dataset: a streamed HDF5 split becomes its tf.data
    pipeline (``HDF5Sequence.to_dataset``), anything else is returned unchanged.

    Args:
        ds: a ``DataBundle``'s ``train_ds``, ``val_ds`` or ``test_ds``.
        shuffle: the run's ``fit.shuffle``; a streamed split is shuffled (batch order, each
            epoch) only when this and its own ``data.shuffle`` are both on. Defaults to True.
        prefetch: the run's ``data.prefetch``. Defaults to True.
    """
    if ds is None:
        return None
    from engine.data.hdf5_sequence import HDF5Sequence  # Keras is loaded by now: fit is next

    if isinstance(ds, HDF5Sequence):
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
    from engine.data.hdf5_sequence import HDF5Sequence as Seq  # imports Keras
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
