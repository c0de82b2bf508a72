"""Streamed HDF5: a ``DataBundle`` of ``HDF5Sequence`` splits (contiguous batches, never the whole file), and ``fit_input``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import DataBundle, Target, _describe, _is_one_hot, _need_path, _set_targets
from engine.data.files import _hdf5_dataset, _open_hdf5
from engine.data.named import key_of
from engine.errors import DataError
from engine.preprocessing import Scaling

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


def _keys(keys: Any, default: str) -> Any:
    """Dataset paths without a leading "/": one, or input / output name -> path."""
    if isinstance(keys, dict):
        return {name: str(k).strip("/") for name, k in keys.items()}
    return (keys or default).strip("/")


def _target_kind(yd: Any) -> tuple[str, int | None]:
    """"int" (labels; count is max + 1), "onehot" or "regression", and the class count.

    Labels are small next to the inputs, so they are read whole; a 2-D float target is
    judged one-hot from its first 10,000 rows.
    """
    if np.issubdtype(yd.dtype, np.integer) and (len(yd.shape) == 1 or yd.shape[1:] == (1,)):
        labels = yd[()]
        if labels.min() >= 0:
            return "int", int(labels.max()) + 1
    elif _is_one_hot(yd[: min(10_000, yd.shape[0])]):
        return "onehot", int(yd.shape[1])
    return "regression", None


def _hdf5_meta(path: str, x_key: Any, y_key: Any, prefix: str):
    """(n, sample shape, target) without reading x. Shape and target are one value, or a dict per
    input / output name when the keys are a mapping; a target is (kind, class count) (``_target_kind``)."""
    named = isinstance(x_key, dict) or isinstance(y_key, dict)
    with _open_hdf5(path, f"{prefix}.path") as f:
        found = [
            (field, name, _hdf5_dataset(f, k, path, key_of(prefix, field, name)))
            for field, keys in (("x", x_key), ("y", y_key)) for name, k in each_key(keys)
        ]  # fmt: skip
        _, first_name, first = found[0]
        for field, name, d in found[1:]:
            if d.shape[0] == first.shape[0]:
                continue
            if not named:
                raise DataError(f"x has {first.shape[0]} samples but y has {d.shape[0]}; they must match",
                                source=path, key=f"{prefix}.y")  # fmt: skip
            raise DataError(
                f"has {d.shape[0]} rows but {key_of(prefix, 'x', first_name)} has {first.shape[0]}; "
                "every array needs one row per sample", source=path, key=key_of(prefix, field, name),
            )  # fmt: skip
        if first.shape[0] == 0:
            raise DataError("holds no samples", source=path, key=key_of(prefix, "x", first_name))
        shapes = {n: tuple(int(s) for s in d.shape[1:]) or (1,) for fld, n, d in found if fld == "x"}
        targets = {n: _target_kind(d) for fld, n, d in found if fld == "y"}
        return int(first.shape[0]), _unname(shapes, x_key), _unname(targets, y_key)


def _unname(values: dict[str, Any], keys: Any) -> Any:
    return values if isinstance(keys, dict) else values[""]


def each_key(keys: Any) -> list[tuple[str, str]]:
    """``(name, dataset path)`` pairs; one path is named ""."""
    return list(keys.items()) if isinstance(keys, dict) else [("", keys)]


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
    x_key, y_key = _keys(cfg.x, "x"), _keys(cfg.y, "y")
    n, shape, target = _hdf5_meta(path, x_key, y_key, "data")
    refs: dict[str, tuple[str, Any, Any, int, Any]] = {}
    for split, ref in (("val", cfg.validation), ("test", cfg.test)):
        if ref is not None:
            prefix = f"data.{'validation' if split == 'val' else split}"
            rx = _keys(ref.x, "x") if ref.x is not None else x_key
            ry = _keys(ref.y, "y") if ref.y is not None else y_key
            rn, rshape, rtarget = _hdf5_meta(ref.path, rx, ry, prefix)
            _same_shapes(shape, rshape, ref.path, prefix)
            refs[split] = (ref.path, rx, ry, rn, rtarget)
    n_test = 0 if "test" in refs else int(round(n * cfg.test_split))
    n_val = 0 if "val" in refs else int(round(n * cfg.validation_split))
    n_train = n - n_val - n_test
    if n_train <= 0:
        raise DataError(f"no training samples left: {n} samples, {n_val} for validation, {n_test} for test",
                        key="data.validation_split")
    train_stop = n_train if cfg.limit is None else min(n_train, cfg.limit)

    targets, one_hot = _stream_targets(target, [r[4] for r in refs.values()], cfg.one_hot)
    scaling: dict[str, Scaling] = {}  # fitted on the training rows; the model applies it, batches stay raw
    if cfg.scale in ("minmax", "standard"):
        for name, k in each_key(x_key):
            scaling[name] = Scaling(cfg.scale, *_chunked_stats(path, k, 0, train_stop, cfg.scale))
    elif cfg.scale == "pixels":
        scaling = {name: Scaling("pixels") for name, _ in each_key(x_key)}
    from engine.data.hdf5_sequence import HDF5Sequence as Seq  # imports Keras
    common = dict(batch_size=batch_size, shift=None, span=None, pixels=False, num_classes=_unname(one_hot, y_key))
    train_ds = Seq(path, x_key, y_key, 0, train_stop, shuffle=cfg.shuffle, seed=seed, **common)

    def split_ds(split: str, lo: int, hi: int):
        if split in refs:
            rpath, rx, ry, rn, _ = refs[split]
            return Seq(rpath, rx, ry, 0, rn, **common), rn
        return (Seq(path, x_key, y_key, lo, hi, **common) if hi > lo else None), hi - lo

    val_ds, n_val_out = split_ds("val", n_train, n_train + n_val)
    test_ds, n_test_out = split_ds("test", n_train + n_val, n)
    single = targets.get("", Target("classification"))
    bundle = DataBundle(
        None, None, None, None, None, None, train_ds=train_ds, val_ds=val_ds, test_ds=test_ds,
        input_shape=shape, num_classes=single.num_classes, task=single.task,
        train_samples=train_stop, val_samples=n_val_out, test_samples=n_test_out,
        input_names=tuple(x_key) if isinstance(x_key, dict) else (), scaling=scaling,
    )  # fmt: skip
    if isinstance(y_key, dict):
        _set_targets(bundle, targets)
    bundle.description = _describe(f"hdf5 {Path(path).name} (streamed)", bundle)
    return bundle


def _listed(shapes: Any) -> str:
    return ", ".join(shapes) if isinstance(shapes, dict) else "one unnamed array"


def _same_shapes(train: Any, split: Any, path: str, prefix: str) -> None:
    """An explicit validation/test file's samples must have the training data's shapes, per input."""
    if isinstance(train, dict) != isinstance(split, dict) or (isinstance(train, dict) and set(train) != set(split)):
        raise DataError(f"gives {_listed(split)} but the training data gives {_listed(train)}", source=path,
                        key=f"{prefix}.x")  # fmt: skip
    pairs = [(n, train[n], split[n]) for n in train] if isinstance(train, dict) else [("", train, split)]
    for name, want, have in pairs:
        if want != have:
            raise DataError(f"samples have shape {have} but the training data's are {want}", source=path,
                            key=key_of(prefix, "x", name))  # fmt: skip


def _stream_targets(target: Any, others: list[Any], one_hot: bool) -> tuple[dict[str, Target], dict[str, Any]]:
    """Each output's ``Target`` (class counts over every split) and the class count to one-hot it to, or None.

    ``one_hot`` encodes every integer-label output; an error when no output holds classes.
    """
    named = isinstance(target, dict)
    mine = target if named else {"": target}
    theirs = [t if named else {"": t} for t in others]
    targets: dict[str, Target] = {}
    encode: dict[str, Any] = {}
    for name, (kind, k) in mine.items():
        if kind == "int":
            k = max([k] + [t[name][1] for t in theirs if name in t and t[name][1] is not None])
        targets[name] = Target("classification" if k is not None else "regression", k)
        encode[name] = k if one_hot and kind == "int" else None
    if one_hot and all(t.task != "classification" for t in targets.values()):
        raise DataError("needs integer class labels, but the targets are not (regression data?)", key="data.one_hot")
    return targets, encode
