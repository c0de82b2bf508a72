"""Several inputs or outputs as dicts of arrays (``{name: array}``), kept row-aligned through every step.

A model with several inputs or outputs takes ``x`` and ``y`` as dicts keyed by input and
output name (Keras' functional API). Everything here accepts either one array or such a
dict, so ``engine.data.loader`` runs one path for both: ``take`` the same rows of every
array, check that row counts agree, and fix dtypes and shapes per array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.data.bundle import _as_float
from engine.errors import DataError

Arrays = np.ndarray | dict[str, np.ndarray]
"""One array, or one array per input / output name."""


def names_of(a: Any) -> tuple[str, ...]:
    """The names of a dict of arrays; () for one array."""
    return tuple(a) if isinstance(a, dict) else ()


def each(a: Arrays) -> list[tuple[str, np.ndarray]]:
    """``(name, array)`` pairs; one array is named ""."""
    return list(a.items()) if isinstance(a, dict) else [("", a)]


def apply(fn: Callable[[np.ndarray], np.ndarray], a: Arrays) -> Arrays:
    """``fn`` applied to every array, keeping the names."""
    return {k: fn(v) for k, v in a.items()} if isinstance(a, dict) else fn(a)


def take(a: Arrays, rows: Any) -> Arrays:
    """The same rows (an index array or a slice) of every array."""
    return apply(lambda v: v[rows], a)


def count(a: Arrays) -> int:
    """Rows (samples) of the arrays; callers check first that they agree (``fix_named``)."""
    return len(next(iter(a.values()))) if isinstance(a, dict) else len(a)


def shape_of(a: Arrays) -> tuple[int, ...] | dict[str, tuple[int, ...]]:
    """One sample's shape, or ``{name: shape}``."""
    if isinstance(a, dict):
        return {k: tuple(int(d) for d in v.shape[1:]) for k, v in a.items()}
    return tuple(int(d) for d in a.shape[1:])


def key_of(prefix: str, field: str, name: str) -> str:
    """The config key path of one array: ``data.x`` or ``data.x.meta``."""
    return f"{prefix}.{field}.{name}" if name else f"{prefix}.{field}"


def fix_named(x: Arrays, y: Arrays, source: str, prefix: str) -> tuple[Arrays, Arrays]:
    """Check that every array has the same rows; 1-D inputs become one feature, (n, 1) targets flatten.

    Args:
        x: the inputs, one array or ``{input name: array}``.
        y: the targets, one array or ``{output name: array}``.
        source: the file they came from (or the data set's label), for messages.
        prefix: the config key the arrays were named under (``data``, ``data.validation``).
    """
    first: tuple[str, int] | None = None
    for field, arrays in (("x", x), ("y", y)):
        for name, arr in each(arrays):
            key = key_of(prefix, field, name)
            if arr.ndim == 0:
                raise DataError("must be an array with one row per sample, got a scalar", source=source, key=key)
            if first is None:
                first = (key, len(arr))
            elif len(arr) != first[1]:
                raise DataError(
                    f"has {len(arr)} rows but {first[0]} has {first[1]}; every array needs one row per sample",
                    source=source, key=key,
                )  # fmt: skip
    if first is not None and first[1] == 0:
        raise DataError("holds no samples", source=source, key=first[0])
    return apply(_fix_input, x), apply(_fix_target, y)


def _fix_input(x: np.ndarray) -> np.ndarray:
    return _as_float(x[:, None] if x.ndim == 1 else x)


def _fix_target(y: np.ndarray) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if np.issubdtype(y.dtype, np.integer) and y.dtype != np.int32 and y.ndim == 1:
        y = y.astype("int32")
    return _as_float(y)


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "one unnamed array"


def check_like(ref: Arrays, split: Arrays, field: str, prefix: str, source: str) -> None:
    """An explicit validation or test file must name the same arrays, with the same sample shapes, as training."""
    want, have = names_of(ref), names_of(split)
    key = f"{prefix}.{field}"
    if want != have and set(want) != set(have):
        raise DataError(f"gives {_listed(have)} but the training data gives {_listed(want)}", source=source, key=key)
    ref_items = dict(each(ref))
    for name, arr in each(split):
        train_shape, shape = tuple(ref_items[name].shape[1:]), tuple(arr.shape[1:])
        if train_shape != shape:
            raise DataError(
                f"samples have shape {shape} but the training data's are {train_shape}",
                source=source, key=key_of(prefix, field, name),
            )  # fmt: skip
