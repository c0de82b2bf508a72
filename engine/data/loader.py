"""``load_data``: dispatch a ``DataConfig`` to its source, then split, scale and one-hot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.data.bundle import DataBundle, _describe, _infer_task, _need_path, _one_hot, _scale
from engine.data.files import _read_file, _read_ref
from engine.data.images import _directory
from engine.data.keras_datasets import _keras_dataset, _sklearn
from engine.data.streaming import _hdf5_stream
from engine.data.synthetic import _synthetic
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import DataConfig


# ================================================================ public entry point
def load_data(cfg: "DataConfig", seed: int | None = None, batch_size: int = 32) -> DataBundle:
    """Load the data ``cfg`` describes. Raises ``DataError`` naming the file and key on bad input.

    Args:
        cfg: the ``data`` section of a run config (paths already absolute).
        seed: the run's seed, used when ``cfg.seed`` is None. Defaults to None (unseeded).
        batch_size: batch size of streaming datasets (hdf5 with ``stream``, directory).
            Defaults to 32.
    """
    seed = cfg.seed if cfg.seed is not None else seed
    if cfg.source == "hdf5" and cfg.stream:
        return _hdf5_stream(cfg, seed, batch_size)
    if cfg.source == "directory":
        return _directory(cfg, seed, batch_size)

    label_map: dict[str, int] | None = None
    given_test: tuple[np.ndarray, np.ndarray] | None = None
    class_names: list[str] | None = None
    if cfg.source == "synthetic":
        x, y = _synthetic(cfg, seed)
        label = f"synthetic {cfg.name}"
    elif cfg.source == "keras":
        x, y, given_test, class_names = _keras_dataset(cfg, seed)
        label = f"keras {cfg.name}"
    elif cfg.source == "sklearn":
        x, y, class_names = _sklearn(cfg)
        label = f"sklearn {cfg.name}"
    else:
        path = _need_path(cfg)
        x, y, label_map = _read_file(cfg.source, path, cfg.x, cfg.y, cfg.target, cfg, "data", None)
        label = f"{cfg.source} {Path(path).name}"
        if label_map:
            class_names = list(label_map)

    # Explicit files replace the matching split.
    val = _read_ref(cfg, cfg.validation, "data.validation", label_map) if cfg.validation else None
    test = _read_ref(cfg, cfg.test, "data.test", label_map) if cfg.test else None
    if test is None:
        test = given_test

    n = len(x)
    if cfg.shuffle:
        order = np.random.default_rng(seed).permutation(n)
        x, y = x[order], y[order]
    n_test = 0 if test is not None else int(round(n * cfg.test_split))
    n_val = 0 if val is not None else int(round(n * cfg.validation_split))
    n_train = n - n_test - n_val
    if n_train <= 0:
        raise DataError(
            f"no training samples left: {n} samples, {n_val} for validation, {n_test} for test",
            key="data.validation_split",
        )
    if test is None:
        test = (x[n - n_test :], y[n - n_test :])
    if val is None:
        val = (x[n_train : n_train + n_val], y[n_train : n_train + n_val])
    x_train, y_train = x[:n_train], y[:n_train]
    if cfg.limit is not None:
        x_train, y_train = x_train[: cfg.limit], y_train[: cfg.limit]
    x_val, y_val = val
    x_test, y_test = test

    task, num_classes = _infer_task(y_train, *(a for a in (y_val, y_test) if len(a)))
    x_train, x_val, x_test = _scale(cfg.scale, x_train, x_val, x_test)
    if cfg.one_hot:
        y_train, y_val, y_test = (_one_hot(a, task, num_classes) for a in (y_train, y_val, y_test))
    if class_names is not None and num_classes is not None and len(class_names) != num_classes:
        class_names = None

    bundle = DataBundle(
        x_train, y_train, x_val, y_val, x_test, y_test,
        input_shape=tuple(int(d) for d in x_train.shape[1:]),
        num_classes=num_classes, class_names=class_names, task=task,
        train_samples=len(x_train), val_samples=len(x_val), test_samples=len(x_test),
    )
    bundle.description = _describe(label, bundle)
    return bundle
