"""What every source produces (``DataBundle``) and the shared steps: target inference, scaling, one-hot, checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import DataError, suggest

if TYPE_CHECKING:
    from engine.config import DataConfig


@dataclass
class DataBundle:
    """What a data source produced: arrays, or ``*_ds`` streaming datasets in their place."""

    x_train: np.ndarray | None
    y_train: np.ndarray | None
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    train_ds: Any = None
    """A ``keras.utils.PyDataset`` or ``tf.data.Dataset`` of (x, y) batches; then x_train/y_train are None."""
    val_ds: Any = None
    test_ds: Any = None
    input_shape: tuple[int, ...] = ()
    """One sample, no batch dimension."""
    num_classes: int | None = None
    """None for regression."""
    class_names: list[str] | None = None
    task: str = "classification"
    """"classification" or "regression"."""
    description: str = ""
    """One line, e.g. "synthetic spirals: 1600 train / 400 val / 0 test, 2 classes"."""
    train_samples: int = 0
    val_samples: int = 0
    test_samples: int = 0


def _describe(label: str, b: DataBundle) -> str:
    kind = f"{b.num_classes} classes" if b.task == "classification" else "regression"
    return f"{label}: {b.train_samples} train / {b.val_samples} val / {b.test_samples} test, {kind}"


# ================================================================ targets, scaling
def _is_one_hot(y: np.ndarray) -> bool:
    if y.ndim != 2 or y.shape[1] < 2 or not np.issubdtype(y.dtype, np.number) or not len(y):
        return False
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())


def _infer_task(y: np.ndarray, *others: np.ndarray) -> tuple[str, int | None]:
    if _is_one_hot(y):
        return "classification", int(y.shape[1])
    if np.issubdtype(y.dtype, np.integer) and y.ndim == 1 and (not len(y) or y.min() >= 0):
        top = max(int(a.max()) for a in (y, *others) if len(a)) if len(y) else 0
        return "classification", top + 1
    return "regression", None


def _one_hot(y: np.ndarray, task: str, num_classes: int | None) -> np.ndarray:
    if _is_one_hot(y):
        return y.astype("float32")
    if task != "classification" or num_classes is None:
        raise DataError("needs integer class labels, but the targets are not (regression data?)", key="data.one_hot")
    return np.eye(num_classes, dtype="float32")[y]


def _scale(mode: str, train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    if mode == "none":
        return [train, *others]
    if mode == "pixels":
        return [a.astype("float32") / np.float32(255) for a in (train, *others)]
    if not np.issubdtype(train.dtype, np.number):
        raise DataError(f"cannot scale non-numeric inputs ({train.dtype})", key="data.scale")
    ref = train.astype("float64")
    if mode == "minmax":
        lo, hi = ref.min(axis=0), ref.max(axis=0)
        shift, span = lo, np.where(hi - lo == 0, 1.0, hi - lo)
    else:  # standard
        shift, std = ref.mean(axis=0), ref.std(axis=0)
        span = np.where(std == 0, 1.0, std)
    return [((a.astype("float64") - shift) / span).astype("float32") for a in (train, *others)]


def _as_float(x: np.ndarray) -> np.ndarray:
    return x.astype("float32") if x.dtype == np.float64 else x


def _fix_arrays(x: np.ndarray, y: np.ndarray, source: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Common checks: sample counts match, 1-D inputs become one feature, (n, 1) labels flatten."""
    if x.ndim == 0 or y.ndim == 0:
        raise DataError("x and y must be arrays with one row per sample, got a scalar", source=source, key=key)
    if len(x) != len(y):
        raise DataError(f"x has {len(x)} samples but y has {len(y)}; they must match", source=source, key=key)
    if not len(x):
        raise DataError("holds no samples", source=source, key=key)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if np.issubdtype(y.dtype, np.integer) and y.dtype != np.int32 and y.ndim == 1:
        y = y.astype("int32")
    return _as_float(x), _as_float(y)


def _need_name(cfg: "DataConfig", choices: tuple[str, ...]) -> str:
    if not cfg.name:
        raise DataError(f"is required for source {cfg.source!r}; choose one of: {', '.join(choices)}", key="data.name")
    if cfg.name not in choices:
        raise DataError(
            f"unknown {cfg.source} dataset {cfg.name!r}{suggest(cfg.name, choices)}; "
            f"choose one of: {', '.join(choices)}",
            key="data.name",
        )
    return cfg.name


def _need_path(cfg: "DataConfig") -> str:
    if not cfg.path:
        raise DataError(f"is required for source {cfg.source!r}", key="data.path")
    return cfg.path
