"""In-memory file sources (npz, csv, hdf5), explicit validation/test files, and ``hdf5_tree``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import _fix_arrays
from engine.errors import DataError, suggest

if TYPE_CHECKING:
    from engine.config import DataConfig, DataRef


# ================================================================ files: npz, csv, hdf5
def _check_file(path: str, key: str | None, what: str) -> None:
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", source=path, key=key)
    if p.is_dir():
        raise DataError(f"is a folder, expected {what}", source=path, key=key)
    if p.stat().st_size == 0:
        raise DataError(f"file is empty, expected {what}", source=path, key=key)


_REF_KINDS = {".npz": "npz", ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".h5": "hdf5", ".hdf5": "hdf5", ".he5": "hdf5"}


def _read_ref(cfg: "DataConfig", ref: "DataRef", prefix: str, label_map: dict[str, int] | None):
    kind = cfg.source if cfg.source in ("npz", "csv", "hdf5") else _REF_KINDS.get(Path(ref.path).suffix.lower())
    if kind is None:
        raise DataError(
            f"cannot tell the file kind of {Path(ref.path).name!r}; use a .npz, .csv, .h5 or .hdf5 file",
            source=ref.path, key=f"{prefix}.path",
        )
    x_key = ref.x if ref.x is not None else cfg.x
    y_key = ref.y if ref.y is not None else cfg.y
    target = ref.target if ref.target is not None else cfg.target
    x, y, _ = _read_file(kind, ref.path, x_key, y_key, target, cfg, prefix, label_map)
    return x, y


def _read_file(kind, path, x_key, y_key, target, cfg, prefix, label_map):
    """(x, y, label map or None) from an npz, csv or hdf5 file; errors keyed under ``prefix``."""
    if kind == "npz":
        x, y = _read_npz(path, x_key or "x", y_key or "y", prefix)
        label_map = None
    elif kind == "csv":
        x, y, label_map = _read_csv(path, target, cfg, prefix, label_map)
    else:
        x, y = _read_hdf5(path, x_key or "x", y_key or "y", prefix)
        label_map = None
    x, y = _fix_arrays(x, y, path, f"{prefix}.y" if kind != "csv" else f"{prefix}.path")
    return x, y, label_map


def _closest(name: str, choices: list[str]) -> str:
    """' (did you mean X?)': a close spelling, else a key that starts with or contains ``name``."""
    hint = suggest(name, choices)
    if hint:
        return hint
    stem = name.strip("/").lower()
    for test in (lambda c: c.lower().startswith(stem), lambda c: stem in c.lower()):
        hits = [c for c in choices if test(c)]
        if hits:
            return f" (did you mean {hits[0]!r}?)"
    return ""


def _read_npz(path: str, x_key: str, y_key: str, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    import zipfile

    _check_file(path, f"{prefix}.path", "a .npz file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"is not a readable .npz file ({exc})", source=path, key=f"{prefix}.path") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError("is a single .npy array, expected a .npz file holding x and y", source=path, key=f"{prefix}.path")
    out = []
    with archive:
        names = list(archive.files)
        for key, field in ((x_key, "x"), (y_key, "y")):
            if key not in names:
                raise DataError(
                    f"no array {key!r} in this file{_closest(key, names)}; it holds: {', '.join(names) or 'nothing'}",
                    source=path, key=f"{prefix}.{field}",
                )
            try:
                out.append(archive[key])
            except ValueError as exc:
                raise DataError(
                    f"array {key!r} holds Python objects, which kwb never unpickles ({exc})",
                    source=path, key=f"{prefix}.{field}",
                ) from None
            except Exception as exc:
                raise DataError(f"array {key!r} cannot be read ({exc})", source=path, key=f"{prefix}.{field}") from None
    return out[0], out[1]


def _read_text(path: str, key: str) -> str:
    _check_file(path, key, "CSV text")
    raw = Path(path).read_bytes()
    head = raw[:8192]
    controls = sum(b < 32 and b not in (9, 10, 12, 13) for b in head)
    if b"\x00" in head or controls > len(head) // 100 + 1:
        raise DataError("is a binary file, expected CSV text", source=path, key=key)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise DataError("file is empty, expected CSV text", source=path, key=key)
    return text


def _column_index(spec: str | int, names: list[str], path: str, key: str) -> int:
    if isinstance(spec, int) or (isinstance(spec, str) and spec.lstrip("-").isdigit() and spec not in names):
        i = int(spec)
        if not -len(names) <= i < len(names):
            raise DataError(f"column index {i} is out of range; the file has {len(names)} columns", source=path, key=key)
        return i % len(names)
    if spec not in names:
        raise DataError(
            f"no column {spec!r}{suggest(spec, names)}; columns: {', '.join(names)}", source=path, key=key
        )
    return names.index(spec)


def _read_csv(path, target, cfg, prefix, label_map):
    key = f"{prefix}.path"
    text = _read_text(path, key)
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=cfg.delimiter)]
    except csv.Error as exc:
        raise DataError(f"is not valid CSV: {exc}", source=path, key=key) from None
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if cfg.header:
        names = [c.strip() for c in numbered[0][1]]
        numbered = numbered[1:]
    else:
        names = [str(i) for i in range(len(numbered[0][1]))]
    if not numbered:
        raise DataError("has a header but no data rows", source=path, key=key)
    width = len(names)
    for line, r in numbered:
        if len(r) != width:
            raise DataError(
                f"line {line} has {len(r)} fields but the {'header' if cfg.header else 'first row'} has {width}"
                + (f" (is data.delimiter {cfg.delimiter!r} right?)" if width == 1 or len(r) == 1 else ""),
                source=path, key=key,
            )
    if width < 2:
        raise DataError(
            f"has a single column; need features and a target (is data.delimiter {cfg.delimiter!r} right?)",
            source=path, key=f"{prefix}.path",
        )
    target_key = "data.target" if prefix == "data" or target is None else f"{prefix}.target"
    t = _column_index(target if target is not None else -1, names, path, target_key)
    if cfg.features:
        f_idx = [_column_index(f, names, path, "data.features") for f in cfg.features]
    else:
        f_idx = [i for i in range(width) if i != t]
    cells = [r for _, r in numbered]
    lines = [line for line, _ in numbered]
    x = np.empty((len(cells), len(f_idx)), dtype="float32")
    for j, c in enumerate(f_idx):
        col = [r[c].strip() for r in cells]
        for row, v in enumerate(col):
            try:
                x[row, j] = float(v)
            except ValueError:
                what = "is empty" if not v else f"holds {v!r}"
                raise DataError(
                    f"column {names[c]!r} is not numeric: line {lines[row]} {what}",
                    source=path, key="data.features",
                ) from None
    col = [r[t].strip() for r in cells]
    if "" in col:
        raise DataError(
            f"target column {names[t]!r} is empty on line {lines[col.index('')]}", source=path, key=target_key
        )
    y: np.ndarray
    try:
        y = np.array([int(v) for v in col], dtype="int64")
        y = y.astype("int32") if y.min() >= 0 else y.astype("float32")
    except ValueError:
        try:
            y = np.array([float(v) for v in col], dtype="float32")
        except ValueError:
            if label_map is None:
                label_map = {name: i for i, name in enumerate(sorted(set(col)))}
            unknown = sorted(set(col) - set(label_map))
            if unknown:
                raise DataError(
                    f"target column {names[t]!r} has labels not in the training data: {', '.join(map(repr, unknown[:5]))}",
                    source=path, key=target_key,
                ) from None
            y = np.array([label_map[v] for v in col], dtype="int32")
    return x, y, label_map


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


def _read_hdf5(path: str, x_key: str, y_key: str, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    with _open_hdf5(path, f"{prefix}.path") as f:
        xd = _hdf5_dataset(f, x_key, path, f"{prefix}.x")
        yd = _hdf5_dataset(f, y_key, path, f"{prefix}.y")
        return xd[()], yd[()]


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
