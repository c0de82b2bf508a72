"""``draw_sample``: a small, raw sample of a ``DataBundle`` for the Data screen's pictures.

The sample is what the pictures need and no more: up to ``rows`` training rows (images:
up to ``images``) exactly as the source gave them (the bundle's arrays are raw; scaling
is the model's first layer), each row's class index or target value, the class names,
the class balance over every training label, and which picture suits the data
(``PictureKind``). In-memory data is sampled at random with a fixed seed, so the same
config always draws the same picture; streamed data (image folders, streamed HDF5) gives
its first batches, never the whole stream. Several named inputs (or a CSV's columns): the
first image input is pictured, else every numeric input side by side as features, named;
several outputs: the first.

UI-free and cheap to call in a worker thread; iterating a ``tf.data`` stream is the only
TensorFlow work, and it happens in the caller's thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from engine.data.bundle import DataBundle
from engine.data.named import each

__all__ = ["PictureKind", "DataSample", "draw_sample", "is_image_shape"]


class PictureKind(str, Enum):
    """Which picture suits the data."""

    POINTS = "points"
    """Two features: a scatter of the first against the second, coloured by class (or target)."""
    FEATURES = "features"
    """One or more than two features (or other shapes): a histogram per feature."""
    IMAGES = "images"
    """Rank 3 or 4 arrays of images (grayscale, or 1, 3 or 4 channels): a grid of samples."""


@dataclass
class DataSample:
    """A few raw training rows and what they are; see the module docstring."""

    kind: PictureKind
    x: np.ndarray
    """Up to ``rows`` raw samples: (n, features) for points and features, (n, h, w) or (n, h, w, c) for images."""
    y: np.ndarray
    """Per sample: the class index (int) for classification, the target value (float) for regression."""
    task: str
    """"classification" or "regression" (of the pictured output)."""
    class_names: list[str] = field(default_factory=list)
    """Index -> name; numbers as text when the source names none."""
    balance: dict[str, int] = field(default_factory=dict)
    """Class name -> count over every training label (empty when unknown or regression)."""
    input_name: str = ""
    """The pictured input when the inputs are named; "" for one input."""
    output_name: str = ""
    """The pictured output when the targets are named; "" for one output."""
    total: int = 0
    """How many training samples there are (the sample is ``len(x)`` of them)."""
    feature_names: list[str] = field(default_factory=list)
    """Each column's name when the inputs are named (a CSV's columns); empty: call them x0, x1, …"""
    target_name: str = ""
    """A CSV's target column, when the target is not a named output."""
    categories: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Each text column (a CSV's words) -> its values with their counts over the training rows,
    most frequent first (at most ``TOP_VALUES``); the numbers are drawn, these are listed."""
    distinct: dict[str, int] = field(default_factory=dict)
    """Each text column -> how many different values it holds."""

    @property
    def target(self) -> str:
        """What the pictures call the target: the output's name, a CSV's target column, else ``y``."""
        return self.output_name or self.target_name or "y"

    def label(self, i: int) -> str:
        """Row ``i``'s class name, or its target value as short text."""
        if self.task == "classification":
            k = int(self.y[i])
            return self.class_names[k] if 0 <= k < len(self.class_names) else str(k)
        return f"{float(self.y[i]):.3g}"


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """True for one sample's shape that reads as an image: (h, w) or (h, w, 1|3|4), both sides ≥ 8, no
    side over 4× the other (a (200, 1) sequence or a (16, 3) signal is not an image)."""
    if len(shape) == 3 and shape[2] not in (1, 3, 4):
        return False
    if len(shape) not in (2, 3):
        return False
    h, w = int(shape[0]), int(shape[1])
    return min(h, w) >= 8 and max(h, w) <= 4 * min(h, w)


def _classes(y: np.ndarray) -> np.ndarray:
    """Class indices of integer labels or one-hot rows."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1).astype("int64")
    return y.reshape(len(y), -1)[:, 0].astype("int64")


def _values(y: np.ndarray) -> np.ndarray:
    """Regression targets as one float per row (the first column of a wider target)."""
    y = np.asarray(y)
    return y.reshape(len(y), -1)[:, 0].astype("float64")


def _pick(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, str, str, list[str]]:
    """One input and one output out of possibly named ones: (x, y, input name, output name, feature names).

    Named inputs without an image: the numeric ones side by side, each column named
    (``size``, or ``meta[0]`` for a wider input); text columns are left out.
    """
    xs = [(name, np.asarray(a)) for name, a in each(x)]
    ys = [(name, np.asarray(a)) for name, a in each(y)]
    out_name, ya = ys[0]
    image = next(((n, a) for n, a in xs if is_image_shape(a.shape[1:])), None)
    if image is not None or len(xs) == 1:
        in_name, xa = image or xs[0]
        return xa, ya, in_name, out_name, []
    numeric = [(n, a.reshape(len(a), -1)) for n, a in xs if np.issubdtype(a.dtype, np.number)]
    if not numeric:
        return xs[0][1], ya, xs[0][0], out_name, []
    names = [n if a.shape[1] == 1 else f"{n}[{i}]" for n, a in numeric for i in range(a.shape[1])]
    return np.concatenate([a for _, a in numeric], axis=1), ya, "", out_name, names


def _first_batches(ds: Any, want: int) -> tuple[Any, Any]:
    """Up to ``want`` rows from the first batches of a PyDataset or ``tf.data`` stream (arrays or dicts)."""
    xs: list[Any] = []
    ys: list[Any] = []
    got = 0
    batches = (ds[i] for i in range(len(ds))) if hasattr(ds, "__getitem__") and hasattr(ds, "__len__") else iter(ds)
    for bx, by in batches:
        xs.append(bx)
        ys.append(by)
        got += len(next(iter(bx.values())) if isinstance(bx, dict) else bx)
        if got >= want:
            break
    if not xs:
        return None, None

    def join(parts: list[Any]) -> Any:
        if isinstance(parts[0], dict):
            return {k: np.concatenate([np.asarray(p[k]) for p in parts])[:want] for k in parts[0]}
        return np.concatenate([np.asarray(p) for p in parts])[:want]

    return join(xs), join(ys)


def _all_labels(bundle: DataBundle, out_name: str) -> np.ndarray | None:
    """Every training label of the pictured output (a stream's ``labels()`` when it has one), or None."""
    labels = bundle.y_train
    if labels is None:
        found = getattr(bundle.train_ds, "labels", None)
        labels = found() if callable(found) else None
    if labels is None:
        return None
    return np.asarray(labels[out_name] if isinstance(labels, dict) else labels)


def _class_info(bundle: DataBundle, out_name: str) -> tuple[str, int | None, list[str] | None]:
    target = bundle.targets.get(out_name) if out_name else None
    if target is not None:
        return target.task, target.num_classes, target.class_names
    return bundle.task, bundle.num_classes, bundle.class_names


TOP_VALUES = 8
"""The most values of a text column a picture lists."""


def _categories(x: Any) -> tuple[dict[str, list[tuple[str, int]]], dict[str, int]]:
    """The text columns among named inputs: their most frequent values with counts, and how many values each has."""
    top: dict[str, list[tuple[str, int]]] = {}
    distinct: dict[str, int] = {}
    for name, a in each(x):
        a = np.asarray(a)
        if a.dtype.kind not in "OUS":
            continue
        values, counts = np.unique(a.reshape(-1).astype(str), return_counts=True)
        order = np.argsort(-counts, kind="stable")[:TOP_VALUES]
        top[name] = [(str(values[i]) or "(empty)", int(counts[i])) for i in order]
        distinct[name] = len(values)
    return top, distinct


def draw_sample(bundle: DataBundle, rows: int = 2000, images: int = 48, seed: int = 0,
                feature_names: list[str] | None = None, target_name: str = "") -> DataSample | None:
    """A small raw sample of the training split for pictures, or None when there is nothing to draw.

    Args:
        bundle: what ``engine.data.load_data`` returned.
        rows: the most rows kept for points and histograms. Defaults to 2000.
        images: the most images kept. Defaults to 48.
        seed: the random choice of in-memory rows. Defaults to 0.
        feature_names: the columns of a one-array input, in order (a CSV's feature columns,
            ``engine.predict_inputs.csv_columns``); used when they match its width. Defaults to
            None (then ``x0``, ``x1``…).
        target_name: a CSV's target column (``csv_columns``), to call the target by. Defaults to ""
            (``y``).
    """
    x, y = bundle.x_train, bundle.y_train
    if x is None and bundle.train_ds is not None:
        shapes = bundle.input_shape.values() if isinstance(bundle.input_shape, dict) else [bundle.input_shape]
        pictured = any(is_image_shape(tuple(shape)) for shape in shapes)
        x, y = _first_batches(bundle.train_ds, images if pictured else rows)
    if x is None or y is None:
        return None
    xa, ya, in_name, out_name, named = _pick(x, y)
    categories, distinct = _categories(x) if isinstance(x, dict) else ({}, {})
    if not len(xa) or not np.issubdtype(xa.dtype, np.number):
        return None
    kind = PictureKind.IMAGES if is_image_shape(xa.shape[1:]) else PictureKind.FEATURES
    if kind is PictureKind.FEATURES:
        xa = xa.reshape(len(xa), -1)
        if xa.shape[1] == 2:
            kind = PictureKind.POINTS
        if not named and feature_names and len(feature_names) == xa.shape[1]:
            named = list(feature_names)
    keep = images if kind is PictureKind.IMAGES else rows
    if len(xa) > keep:
        chosen = np.sort(np.random.default_rng(seed).choice(len(xa), size=keep, replace=False))
        xa, ya = xa[chosen], ya[chosen]
    task, num_classes, names = _class_info(bundle, out_name)
    sample = DataSample(kind, xa, _classes(ya) if task == "classification" else _values(ya), task,
                        input_name=in_name, output_name=out_name, total=int(bundle.train_samples),
                        feature_names=named, target_name=target_name, categories=categories,
                        distinct=distinct)  # fmt: skip
    if task == "classification":
        k = int(num_classes or (int(sample.y.max()) + 1 if len(sample.y) else 0))
        sample.class_names = list(names) if names and len(names) >= k else [str(i) for i in range(k)]
        labels = _all_labels(bundle, out_name)
        if labels is not None and len(labels):
            counts = np.bincount(_classes(labels), minlength=k)
            sample.balance = {sample.class_names[i] if i < k else str(i): int(c) for i, c in enumerate(counts)}
    return sample
