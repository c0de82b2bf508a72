"""CSV files in memory: the table, feature columns, target columns (numbers or words), per input and output name."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import _check_file
from engine.errors import DataError, suggest

if TYPE_CHECKING:
    from engine.config import DataConfig


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


def _csv_table(path: str, cfg: "DataConfig", key: str) -> tuple[list[str], list[list[str]], list[int]]:
    """(column names, data rows, their line numbers) of a CSV file, every row as wide as the header."""
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
            source=path, key=key,
        )
    return names, [r for _, r in numbered], [line for line, _ in numbered]


def _columns(spec: Any, names: list[str], path: str, key: str) -> list[int]:
    """The column indexes a mapping's value names: one column (name or index) or a list of them."""
    specs = spec if isinstance(spec, list) else [spec]
    if not specs:
        raise DataError("lists no columns", source=path, key=key)
    return [_column_index(c, names, path, key) for c in specs]


def _csv_numbers(cells: list[list[str]], lines: list[int], cols: list[int], names: list[str], path: str,
                 key: str) -> np.ndarray:
    """The given columns as a float32 (rows, columns) array."""
    x = np.empty((len(cells), len(cols)), dtype="float32")
    for j, c in enumerate(cols):
        for row, r in enumerate(cells):
            v = r[c].strip()
            try:
                x[row, j] = float(v)
            except ValueError:
                what = "is empty" if not v else f"holds {v!r}"
                raise DataError(
                    f"column {names[c]!r} is not numeric: line {lines[row]} {what}", source=path, key=key
                ) from None
    return x


def _csv_target(cells, lines, t, names, path, key, label_map):
    """One target column: integer labels, floats, or words (class labels in sorted order); (y, label map)."""
    col = [r[t].strip() for r in cells]
    if "" in col:
        raise DataError(f"target column {names[t]!r} is empty on line {lines[col.index('')]}", source=path, key=key)
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
                    source=path, key=key,
                ) from None
            y = np.array([label_map[v] for v in col], dtype="int32")
    return y, label_map


def _read_csv(path, x_key, y_key, target, cfg, prefix, label_maps):
    """(x, y, label maps): ``x_key`` / ``y_key`` map input / output names to column lists, or are None
    (then ``data.features`` and ``data.target``, by default every other column and the last one)."""
    names, cells, lines = _csv_table(path, cfg, f"{prefix}.path")
    used: set[int] = set()
    if isinstance(y_key, dict):
        y: Any = {}
        for out, spec in y_key.items():
            key = f"{prefix}.y.{out}"
            cols = _columns(spec, names, path, key)
            used.update(cols)
            if len(cols) == 1:
                y[out], found = _csv_target(cells, lines, cols[0], names, path, key, label_maps.get(out))
                if found is not None:
                    label_maps[out] = found
            else:
                y[out] = _csv_numbers(cells, lines, cols, names, path, key)
    else:
        target_key = "data.target" if prefix == "data" or target is None else f"{prefix}.target"
        t = _column_index(target if target is not None else -1, names, path, target_key)
        used.add(t)
        y, found = _csv_target(cells, lines, t, names, path, target_key, label_maps.get(""))
        if found is not None:
            label_maps[""] = found
    if isinstance(x_key, dict):
        x: Any = {
            name: _csv_numbers(cells, lines, _columns(spec, names, path, f"{prefix}.x.{name}"), names, path,
                               f"{prefix}.x.{name}")
            for name, spec in x_key.items()
        }  # fmt: skip
    else:
        if cfg.features:
            f_idx = [_column_index(f, names, path, "data.features") for f in cfg.features]
        else:
            f_idx = [i for i in range(len(names)) if i not in used]
        x = _csv_numbers(cells, lines, f_idx, names, path, "data.features")
    return x, y, label_maps
