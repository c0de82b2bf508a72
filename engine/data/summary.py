"""``preview``: a plain-python summary of a ``DataBundle`` for the Data screen."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.data.bundle import DataBundle, Target
from engine.data.named import each


# ================================================================ preview
def _flat(a: Any, limit: int) -> tuple[list[Any], bool]:
    v = np.asarray(a).reshape(-1)
    return [_plain(x) for x in v[:limit]], v.size > limit


def _plain(x: Any) -> Any:
    """A numpy scalar as a Python value; a text cell (bytes from a string tensor) as str."""
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return x.item() if hasattr(x, "item") else x


def preview(bundle: DataBundle, n: int = 5) -> dict:
    """A plain-python summary for the Data screen: splits, shapes, class balance, samples, ranges.

    In-memory data is summarised exactly; streamed data from its first batch (value
    range, samples) and its labels or file names (class balance). Named inputs or
    outputs (dicts of arrays) are described one array at a time (``_named_preview``).
    """
    if bundle.input_names or bundle.output_names or isinstance(bundle.x_train, dict):
        return _named_preview(bundle, n)  # a CSV with text columns is read one column per input
    names = bundle.class_names

    def label_of(y: Any) -> Any:
        if bundle.task != "classification":
            return None
        arr = np.asarray(y)
        idx = int(arr.argmax()) if arr.ndim >= 1 and arr.size > 1 else int(arr.reshape(-1)[0])
        return names[idx] if names and idx < len(names) else str(idx)

    streaming = bundle.x_train is None
    splits: dict[str, dict[str, Any]] = {}
    x_sample = y_sample = None
    for split, count, x, y, ds in (
        ("train", bundle.train_samples, bundle.x_train, bundle.y_train, bundle.train_ds),
        ("val", bundle.val_samples, bundle.x_val, bundle.y_val, bundle.val_ds),
        ("test", bundle.test_samples, bundle.x_test, bundle.y_test, bundle.test_ds),
    ):
        info: dict[str, Any] = {"samples": int(count)}
        if x is None and ds is not None and split == "train":
            x, y = _first_batch(ds)
            info["from_first_batch"] = True
        if x is not None and y is not None:
            info.update(
                x_shape=list(x.shape) if not info.get("from_first_batch") else [int(count), *x.shape[1:]],
                x_dtype=str(x.dtype),
                y_shape=list(y.shape) if not info.get("from_first_batch") else [int(count), *y.shape[1:]],
                y_dtype=str(y.dtype),
            )
        if split == "train":
            x_sample, y_sample = x, y
        splits[split] = info

    balance: dict[str, int] = {}
    if bundle.task == "classification":
        labels = _train_labels(bundle)
        if labels is not None and len(labels):
            labels = labels.argmax(axis=1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1)
            counts = np.bincount(labels.astype("int64"), minlength=bundle.num_classes or 0)
            balance = {label_of(i): int(c) for i, c in enumerate(counts)}

    samples: list[dict[str, Any]] = []
    x_range = y_range = None
    if x_sample is not None and len(x_sample):
        for i in range(min(n, len(x_sample))):
            values, cut = _flat(x_sample[i], 8)
            target, _ = _flat(y_sample[i], 8)
            samples.append({"x": values, "truncated": cut, "y": target[0] if len(target) == 1 else target,
                            "label": label_of(y_sample[i])})
        if np.issubdtype(np.asarray(x_sample).dtype, np.number):
            x_range = [float(np.min(x_sample)), float(np.max(x_sample))]
        if bundle.task == "regression":
            y_range = [float(np.min(y_sample)), float(np.max(y_sample))]
    return {
        "description": bundle.description,
        "task": bundle.task,
        "streaming": streaming,
        "input_shape": list(bundle.input_shape),
        "num_classes": bundle.num_classes,
        "class_names": list(names) if names else None,
        "splits": splits,
        "class_balance": balance,
        "samples": samples,
        "x_range": x_range,
        "y_range": y_range,
    }


def _first_batch(ds: Any, keep: bool = False) -> tuple[Any, Any]:
    """The first (x, y) batch as arrays; with ``keep``, dicts of arrays stay dicts."""
    try:
        if hasattr(ds, "__getitem__") and hasattr(ds, "__len__"):
            x, y = ds[0]
        else:
            x, y = next(iter(ds.take(1)))
        if keep:
            return ({k: np.asarray(v) for k, v in a.items()} if isinstance(a, dict) else np.asarray(a) for a in (x, y))
        return np.asarray(x), np.asarray(y)
    except Exception:  # an unreadable stream shows as "no samples"; load_data reports real errors
        return None, None


def _train_labels(bundle: DataBundle) -> Any:
    """Every training target (an array, or a dict per output), or None when the stream cannot say."""
    if bundle.y_train is not None:
        return bundle.y_train if isinstance(bundle.y_train, dict) else np.asarray(bundle.y_train)
    labels = getattr(bundle.train_ds, "labels", None)
    if not callable(labels):
        return None
    found = labels()
    return found if isinstance(found, dict) else np.asarray(found)


def _label(target: Target, y: Any) -> Any:
    """The class name (or number) of one target value; None for regression."""
    if target.task != "classification":
        return None
    arr = np.asarray(y)
    idx = int(arr.argmax()) if arr.ndim >= 1 and arr.size > 1 else int(arr.reshape(-1)[0])
    names = target.class_names
    return names[idx] if names and idx < len(names) else str(idx)


def _balance(target: Target, labels: Any) -> dict[str, int]:
    if target.task != "classification" or labels is None or not len(labels):
        return {}
    labels = np.asarray(labels)
    labels = labels.argmax(axis=1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1)
    counts = np.bincount(labels.astype("int64"), minlength=target.num_classes or 0)
    return {_label(target, i): int(c) for i, c in enumerate(counts)}


def _range(a: np.ndarray) -> list[float] | None:
    return [float(np.min(a)), float(np.max(a))] if len(a) and np.issubdtype(a.dtype, np.number) else None


def _one_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _named_preview(bundle: DataBundle, n: int) -> dict:
    """``preview`` for named inputs or outputs: ``inputs`` and ``outputs`` describe each array by name
    (shape with the training count, dtype, value range; per output its task, classes and class balance),
    and each sample maps names to values. An unnamed side is named "x" or "y"."""
    streaming = bundle.x_train is None
    x, y = bundle.x_train, bundle.y_train
    if streaming and bundle.train_ds is not None:
        x, y = _first_batch(bundle.train_ds, keep=True)
    splits = {
        split: {"samples": int(count)}
        for split, count in (("train", bundle.train_samples), ("val", bundle.val_samples), ("test", bundle.test_samples))
    }  # fmt: skip
    xs = {name or "x": np.asarray(a) for name, a in each(x)} if x is not None else {}
    ys = {name or "y": np.asarray(a) for name, a in each(y)} if y is not None else {}
    single = Target(bundle.task, bundle.num_classes, bundle.class_names)
    targets = {name: bundle.targets.get(name, single) for name in ys}
    labels = _train_labels(bundle)
    label_sets = dict(each(labels)) if labels is not None else {}
    inputs = {
        name: {"shape": [bundle.train_samples, *a.shape[1:]], "dtype": str(a.dtype), "range": _range(a)}
        for name, a in xs.items()
    }  # fmt: skip
    outputs = {
        name: {
            "shape": [bundle.train_samples, *a.shape[1:]], "dtype": str(a.dtype), "task": targets[name].task,
            "num_classes": targets[name].num_classes,
            "class_balance": _balance(targets[name], label_sets.get(name, label_sets.get(""))),
            "range": _range(a) if targets[name].task == "regression" else None,
        }
        for name, a in ys.items()
    }  # fmt: skip
    rows = min(n, len(next(iter(xs.values()), ())))
    samples = []
    for i in range(rows):
        cut = {name: _flat(a[i], 8) for name, a in xs.items()}
        samples.append({
            "x": {name: values for name, (values, _) in cut.items()},
            "truncated": any(c for _, c in cut.values()),
            "y": {name: _one_or_list(_flat(a[i], 8)[0]) for name, a in ys.items()},
            "label": {name: _label(targets[name], a[i]) for name, a in ys.items()},
        })  # fmt: skip
    shape = bundle.input_shape
    return {
        "description": bundle.description,
        "task": bundle.task,
        "streaming": streaming,
        "input_shape": {k: list(v) for k, v in shape.items()} if isinstance(shape, dict) else list(shape),
        "num_classes": bundle.num_classes,
        "class_names": list(bundle.class_names) if bundle.class_names else None,
        "splits": splits,
        "class_balance": next((o["class_balance"] for o in outputs.values() if len(outputs) == 1), {}),
        "samples": samples,
        "x_range": None,
        "y_range": None,
        "inputs": inputs,
        "outputs": outputs,
    }
