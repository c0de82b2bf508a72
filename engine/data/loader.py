"""``load_data``: dispatch a ``DataConfig`` to its source, then split, fit the scaling on train, one-hot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import DataBundle, Target, _describe, _infer_task, _need_path, _one_hot, _set_targets
from engine.data.checks import check_finite, check_stream_sample
from engine.data.files import _read_file, _read_ref
from engine.data.images import _directory
from engine.data.keras_datasets import _keras_dataset, _sklearn
from engine.data.named import check_like, count, each, names_of, shape_of, take
from engine.data.streaming import _hdf5_stream
from engine.data.synthetic import _synthetic
from engine.errors import DataError, suggest
from engine.preprocessing import fit_features, fit_scaling, text_as_tensors

if TYPE_CHECKING:
    from engine.config import DataConfig


# ================================================================ public entry point
def load_data(
    cfg: "DataConfig", seed: int | None = None, batch_size: int = 32, classes: dict[str, list[str]] | None = None
) -> DataBundle:
    """Load the data ``cfg`` describes. Raises ``DataError`` naming the file and key on bad input.

    With ``data.x`` / ``data.y`` mappings (or a source with named arrays) the bundle's
    inputs / targets are dicts keyed by input / output name, their rows kept aligned
    through shuffling, splits and ``limit``; scaling and one-hot apply per array.

    Args:
        cfg: the ``data`` section of a run config (paths already absolute).
        seed: the run's seed, used when ``cfg.seed`` is None. Defaults to None (unseeded).
        batch_size: batch size of streaming datasets (hdf5 with ``stream``, directory).
            Defaults to 32.
        classes: output name ("" for one output) -> the class names a run was trained with
            (``engine.preprocessing.class_names``): a CSV's word labels then map through that
            vocabulary, and a label it lacks is refused. Defaults to None (sorted from the file).
    """
    seed = cfg.seed if cfg.seed is not None else seed
    if cfg.source == "hdf5" and cfg.stream:
        streamed = _hdf5_stream(cfg, seed, batch_size)
        check_stream_sample(streamed, cfg)  # NaN/Inf in a sample of each split (engine.data.checks)
        return streamed
    if cfg.source == "directory":
        return _directory(cfg, seed, batch_size)

    known = {name: {c: i for i, c in enumerate(names)} for name, names in (classes or {}).items()}
    x, y, label_maps, given_test, class_names, label = _read_source(cfg, seed, known)
    check_finite(x, y, cfg, cfg.path)  # every value, in file order: NaN/Inf refused before training
    names = (names_of(x), names_of(y))
    # Explicit files replace the matching split.
    val = test = None
    for prefix, ref in (("data.validation", cfg.validation), ("data.test", cfg.test)):
        if ref is not None:
            columns = _text_features(cfg) and isinstance(x, dict)  # a text feature column: the columns by name
            split = _read_ref(cfg, ref, prefix, label_maps, ((), names[1]) if columns else names, _text_features(cfg))
            check_finite(*split, cfg, ref.path, prefix)
            check_like(x, split[0], "x", prefix, ref.path)
            check_like(y, split[1], "y", prefix, ref.path)
            val, test = (split, test) if prefix == "data.validation" else (val, split)
    if test is None:
        test = given_test

    n = count(x)
    if cfg.shuffle:
        order = np.random.default_rng(seed).permutation(n)
        x, y = take(x, order), take(y, order)
    n_test = 0 if test is not None else int(round(n * cfg.test_split))
    n_val = 0 if val is not None else int(round(n * cfg.validation_split))
    n_train = n - n_test - n_val
    if n_train <= 0:
        raise DataError(
            f"no training samples left: {n} samples, {n_val} for validation, {n_test} for test",
            key="data.validation_split",
        )
    if test is None:
        test = (take(x, slice(n - n_test, n)), take(y, slice(n - n_test, n)))
    if val is None:
        val = (take(x, slice(n_train, n_train + n_val)), take(y, slice(n_train, n_train + n_val)))
    x_train, y_train = take(x, slice(0, n_train)), take(y, slice(0, n_train))
    if cfg.limit is not None:
        x_train, y_train = take(x_train, slice(0, cfg.limit)), take(y_train, slice(0, cfg.limit))
    return _finish(cfg, label, (x_train, y_train), val, test, class_names, label_maps)


def _read_source(cfg: "DataConfig", seed: int | None, known: dict[str, dict[str, int]]):
    """(x, y, label maps, the source's own test split or None, class names or None, label) of the main source."""
    label_maps: dict[str, dict[str, int]] = {}
    given_test = class_names = None
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
        x, y, label_maps = _read_file(cfg.source, path, cfg.x, cfg.y, cfg.target, cfg, "data", known or None,
                                     _text_features(cfg))  # fmt: skip
        label = f"{cfg.source} {Path(path).name}"
        if "" in label_maps:
            class_names = list(label_maps[""])
        return x, y, label_maps, given_test, class_names, label
    x = _select(x, cfg.x, "x", label)
    y = _select(y, cfg.y, "y", label)
    return x, y, label_maps, given_test, class_names, label


def _text_features(cfg: "DataConfig") -> bool:
    """A CSV whose features are not mapped by name may hold text columns (``engine.preprocessing.fit_features``)."""
    return cfg.source == "csv" and not isinstance(cfg.x, dict)


def _select(arrays: Any, mapping: Any, field: str, label: str) -> Any:
    """A source's own named arrays (synthetic two_inputs), renamed and chosen by a ``data.x`` / ``data.y`` mapping."""
    key = f"data.{field}"
    have = list(names_of(arrays))
    if mapping is None or (not have and not isinstance(mapping, dict)):
        return arrays  # a plain key means nothing to these sources, as it always has
    if not isinstance(mapping, dict):
        raise DataError(f"{label} has named arrays ({', '.join(have)}); map names to them or leave {key} out", key=key)
    if not have:
        raise DataError(
            f"a mapping names arrays of an npz, HDF5 or CSV file; {label} has one unnamed array", key=key
        )
    out = {}
    for name, source_key in mapping.items():
        if source_key not in have:
            close = suggest(str(source_key), have).replace(" (", "; ").rstrip(")")
            raise DataError(f"{source_key!r} is not a key of {label} (keys: {', '.join(have)}){close}",
                            key=f"{key}.{name}")  # fmt: skip
        out[name] = arrays[source_key]
    return out


def _finish(cfg: "DataConfig", label: str, train, val, test, class_names, label_maps) -> DataBundle:
    """Infer each target's task, fit each input's scaling on train, one-hot class targets, describe the result."""
    x_train, y_train = train
    (x_val, y_val), (x_test, y_test) = val, test
    features: dict[str, Any] = {}
    if _text_features(cfg) and isinstance(x_train, dict):  # a CSV with a text column: one raw input per column
        features, scaling, width = fit_features(x_train, cfg.scale)
    else:
        scaling = {name: fit_scaling(cfg.scale, a) for name, a in each(x_train)}  # the model applies it

    targets: dict[str, Target] = {}
    ys = [dict(each(a)) for a in (y_train, y_val, y_test)]
    for name in ys[0]:
        task, k = _infer_task(ys[0][name], *(s[name] for s in ys[1:] if len(s[name])))
        names = class_names if not name else (list(label_maps[name]) if name in label_maps else None)
        if names is not None and k is not None and len(names) != k:
            names = None
        targets[name] = Target(task, k, names)
    if cfg.one_hot:
        classified = [n for n, t in targets.items() if t.task == "classification"]
        for name in classified or list(targets):  # none at all: _one_hot says why
            for s in ys:
                s[name] = _one_hot(s[name], targets[name].task, targets[name].num_classes)
    y_train, y_val, y_test = (s if names_of(y_train) else s[""] for s in ys)

    single = targets.get("", Target("classification"))
    bundle = DataBundle(
        x_train, y_train, x_val, y_val, x_test, y_test,
        input_shape=shape_of(x_train), num_classes=single.num_classes, class_names=single.class_names,
        task=single.task, train_samples=count(x_train), val_samples=count(x_val), test_samples=count(x_test),
        input_names=names_of(x_train),
    )  # fmt: skip
    bundle.scaling = {name: s for name, s in scaling.items() if s is not None}
    if features:
        bundle.features, bundle.input_shape, bundle.input_names = features, (width,), ()
        bundle.x_train, bundle.x_val, bundle.x_test = (text_as_tensors(a) for a in (x_train, x_val, x_test))
    if names_of(y_train):
        _set_targets(bundle, targets)
    bundle.description = _describe(label, bundle)
    return bundle
