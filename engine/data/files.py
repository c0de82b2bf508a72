"""In-memory file sources (npz, hdf5; csv via ``csv_file``), explicit validation/test files, and ``hdf5_tree``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import _check_file, _fix_arrays
from engine.data.csv_file import _read_csv
from engine.data.named import fix_named
from engine.errors import DataError, suggest

if TYPE_CHECKING:
    from engine.config import DataConfig, DataRef


# ================================================================ files: npz, csv, hdf5
_REF_KINDS = {".npz": "npz", ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".h5": "hdf5", ".hdf5": "hdf5", ".he5": "hdf5"}


def _read_ref(cfg: "DataConfig", ref: "DataRef", prefix: str, label_maps: dict[str, dict[str, int]],
              names: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()), text_features: bool = False):
    """(x, y) of an explicit validation or test file; ``names`` are the training data's input and output
    names, which the file's keys default to when neither it nor ``data`` maps them; ``text_features``
    as in ``_read_file``."""
    kind = cfg.source if cfg.source in ("npz", "csv", "hdf5") else _REF_KINDS.get(Path(ref.path).suffix.lower())
    if kind is None:
        raise DataError(
            f"cannot tell the file kind of {Path(ref.path).name!r}; use a .npz, .csv, .h5 or .hdf5 file",
            source=ref.path, key=f"{prefix}.path",
        )
    x_key = ref.x if ref.x is not None else cfg.x
    y_key = ref.y if ref.y is not None else cfg.y
    if x_key is None and names[0]:
        x_key = {n: n for n in names[0]}
    if y_key is None and names[1]:
        y_key = {n: n for n in names[1]}
    target = ref.target if ref.target is not None else cfg.target
    x, y, _ = _read_file(kind, ref.path, x_key, y_key, target, cfg, prefix, label_maps, text_features)
    return x, y


def _read_file(kind, path, x_key, y_key, target, cfg, prefix, label_maps=None, text_features: bool = False):
    """(x, y, label maps) from an npz, csv or hdf5 file; errors keyed under ``prefix``.

    ``x_key`` / ``y_key`` are a key (or None for the default) or a mapping from input /
    output name to a key, which makes that side a dict of arrays. ``label_maps`` maps an
    output name ("" for one unnamed target) to the words of a CSV label column, in class
    order; training builds it, validation and test files reuse it. ``text_features``: a CSV's
    text feature columns come back as ``{column: (rows, 1) str array}`` (``csv_file``)
    instead of being refused; False until the in-model string preprocessing consumes them.
    """
    label_maps = dict(label_maps or {})
    if kind == "npz":
        x, y = _read_npz(path, x_key or "x", y_key or "y", prefix)
    elif kind == "csv":
        x, y, label_maps = _read_csv(path, x_key, y_key, target, cfg, prefix, label_maps, text_features)
    else:
        x, y = _read_hdf5(path, x_key or "x", y_key or "y", prefix)
    if isinstance(x, dict) or isinstance(y, dict):
        x, y = fix_named(x, y, path, prefix)
    else:
        x, y = _fix_arrays(x, y, path, f"{prefix}.y" if kind != "csv" else f"{prefix}.path")
    return x, y, label_maps


def refuse_text_columns(cfg: "DataConfig") -> None:
    """Read the main CSV file as numbers only: raises the reader's ``DataError``, naming the first
    text column and the line of its first word (a model trained on numbers is given words)."""
    _read_file("csv", _need_csv_path(cfg), cfg.x, cfg.y, cfg.target, cfg, "data")


def _need_csv_path(cfg: "DataConfig") -> str:
    if cfg.source != "csv" or not cfg.path:
        raise DataError("is not a CSV file", key="data.path")
    return cfg.path


def _one_key(value: Any, key: str, what: str) -> str:
    """A mapping's value for an npz or HDF5 file: one name."""
    if not isinstance(value, str):
        raise DataError(f"{what} is one name, got {value!r}", key=key)
    return value


def _closest_name(name: str, choices: list[str]) -> str | None:
    """A close spelling of ``name`` among ``choices``, else one that starts with or contains it."""
    hint = suggest(name, choices)
    if hint:
        return next(c for c in choices if repr(c) in hint)
    stem = name.strip("/").lower()
    for test in (lambda c: c.lower().startswith(stem), lambda c: stem in c.lower()):
        hits = [c for c in choices if test(c)]
        if hits:
            return hits[0]
    return None


def _closest(name: str, choices: list[str]) -> str:
    """' (did you mean X?)' from ``_closest_name``, or ''."""
    close = _closest_name(name, choices)
    return f" (did you mean {close!r}?)" if close else ""


def _read_npz(path: str, x_key: Any, y_key: Any, prefix: str) -> tuple[Any, Any]:
    import zipfile

    _check_file(path, f"{prefix}.path", "a .npz file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"is not a readable .npz file ({exc})", source=path, key=f"{prefix}.path") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError("is a single .npy array, expected a .npz file holding x and y", source=path, key=f"{prefix}.path")
    with archive:
        names = list(archive.files)

        def get(key: str, where: str, mapped: bool) -> np.ndarray:
            if key not in names:
                if mapped:
                    close = _closest_name(key, names)
                    raise DataError(
                        f"{key!r} is not a key of {Path(path).name} (keys: {', '.join(names) or 'none'})"
                        + (f"; did you mean {close!r}?" if close else ""),
                        source=path, key=where,
                    )  # fmt: skip
                raise DataError(
                    f"no array {key!r} in this file{_closest(key, names)}; it holds: {', '.join(names) or 'nothing'}",
                    source=path, key=where,
                )
            try:
                return archive[key]
            except ValueError as exc:
                raise DataError(
                    f"array {key!r} holds Python objects, which kwb never unpickles ({exc})", source=path, key=where
                ) from None
            except Exception as exc:
                raise DataError(f"array {key!r} cannot be read ({exc})", source=path, key=where) from None

        def side(keys: Any, field: str) -> Any:
            if isinstance(keys, dict):
                return {
                    name: get(_one_key(k, f"{prefix}.{field}.{name}", "an npz key"), f"{prefix}.{field}.{name}", True)
                    for name, k in keys.items()
                }  # fmt: skip
            return get(keys, f"{prefix}.{field}", False)

        return side(x_key, "x"), side(y_key, "y")


def _open_hdf5(path: str, key: str | None):
    import h5py

    _check_file(path, key, "an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"is not a readable HDF5 file ({exc})", source=path, key=key) from None


def _dataset_paths(f) -> list[str]:
    import h5py

    found: list[str] = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return found


def _hdf5_dataset(f, name: str, path: str, key: str):
    import h5py

    obj = f.get(name.strip("/"))
    if isinstance(obj, h5py.Dataset):
        if obj.shape is None or len(obj.shape) == 0:
            raise DataError(f"dataset {name!r} is a scalar, expected one row per sample", source=path, key=key)
        return obj
    found = _dataset_paths(f)
    if obj is not None:
        inside = [d for d in found if d.startswith(name.strip("/") + "/")]
        raise DataError(
            f"{name!r} is a group, not a dataset; datasets inside it: {', '.join(inside) or 'none'}",
            source=path, key=key,
        )
    raise DataError(
        f"no dataset {name!r} in this file{_closest(name, found)}; datasets: {', '.join(found) or 'none'}",
        source=path, key=key,
    )


def _read_hdf5(path: str, x_key: Any, y_key: Any, prefix: str) -> tuple[Any, Any]:
    with _open_hdf5(path, f"{prefix}.path") as f:

        def side(keys: Any, field: str) -> Any:
            if isinstance(keys, dict):
                return {
                    name: _hdf5_dataset(f, _one_key(k, f"{prefix}.{field}.{name}", "an HDF5 dataset path"), path,
                                        f"{prefix}.{field}.{name}")[()]
                    for name, k in keys.items()
                }  # fmt: skip
            return _hdf5_dataset(f, keys, path, f"{prefix}.{field}")[()]

        return side(x_key, "x"), side(y_key, "y")


def hdf5_tree(path: str) -> list[tuple[str, tuple[int, ...] | None, str | None]]:
    """Every group and dataset in an HDF5 file: ``(path, shape, dtype)``, None shape/dtype for groups."""
    import h5py

    out: list[tuple[str, tuple[int, ...] | None, str | None]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            out.append((name, tuple(int(d) for d in (obj.shape or ())), str(obj.dtype)))
        else:
            out.append((name, None, None))

    with _open_hdf5(path, None) as f:
        f.visititems(visit)
    return out
