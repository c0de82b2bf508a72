"""``preview``: a plain-python summary of a ``DataBundle`` for the Data screen."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.data.bundle import DataBundle


# ================================================================ preview
def _flat(a: Any, limit: int) -> tuple[list[Any], bool]:
    v = np.asarray(a).reshape(-1)
    return [x.item() for x in v[:limit]], v.size > limit


def preview(bundle: DataBundle, n: int = 5) -> dict:
    """A plain-python summary for the Data screen: splits, shapes, class balance, samples, ranges.

    In-memory data is summarised exactly; streamed data from its first batch (value
    range, samples) and its labels or file names (class balance).
    """
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


def _first_batch(ds: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    try:
        if hasattr(ds, "__getitem__") and hasattr(ds, "__len__"):
            x, y = ds[0]
        else:
            x, y = next(iter(ds.take(1)))
        return np.asarray(x), np.asarray(y)
    except Exception:  # an unreadable stream shows as "no samples"; load_data reports real errors
        return None, None


def _train_labels(bundle: DataBundle) -> np.ndarray | None:
    if bundle.y_train is not None:
        return np.asarray(bundle.y_train)
    labels = getattr(bundle.train_ds, "labels", None)
    return np.asarray(labels()) if callable(labels) else None
