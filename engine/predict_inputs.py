"""``kwb predict``'s inputs: accept what the training data looked like, refuse the rest with a sentence.

* ``.npy``: the samples; an array shaped like ONE sample (a 1-D row of the features) is one row.
* ``.npz``: key ``x``, or the run's own ``data.x`` key; with several inputs one key per input
  name (or the run's ``data.x`` mapping). Any other file is refused naming the keys it has.
* ``.csv``: with or without a header (a first line holding a word is a header). With a header
  the columns are matched BY NAME to the training file's feature columns (recorded in the
  run's ``preprocessing.json``), the target column ignored when present, a missing column or
  an unknown one refused by name. Without a header the columns must be the features in
  training order (a trailing target column, as the training file had it, is dropped). Text
  columns become the model's string inputs (``engine.features``); an empty or non-numeric cell
  in a numeric column is refused naming the file, column and line.
* Raw values always: the model scales and encodes them itself (``engine.preprocessing``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import DataError

__all__ = ["read_inputs", "csv_columns"]


def csv_columns(cfg: Any) -> dict[str, Any] | None:
    """The feature and target column names of a CSV run's training file (header only), or None.

    Args:
        cfg: the run's ``data`` section.
    """
    if cfg.source != "csv" or not cfg.path or isinstance(cfg.x, dict) or isinstance(cfg.y, dict):
        return None
    try:
        with open(cfg.path, newline="", encoding="utf-8", errors="replace") as fh:
            first = next(csv.reader(fh, delimiter=cfg.delimiter), [])
    except OSError:
        return None
    names = [c.strip() for c in first] if cfg.header else [str(i) for i in range(len(first))]
    if len(names) < 2:
        return None
    t = cfg.target
    target = names[-1] if t is None else (names[t] if isinstance(t, int) and -len(names) <= t < len(names) else str(t))
    features = [names[f] if isinstance(f, int) else str(f) for f in cfg.features] if cfg.features else [
        n for n in names if n != target]  # fmt: skip
    return {"features": features, "target": target, "all": names}


def read_inputs(path: Path, inputs: dict[str, tuple[tuple[int, ...], str]], run_data: Any,
                columns: dict[str, Any] | None) -> dict[str, np.ndarray]:  # fmt: skip
    """Input name ("" for one unnamed input) -> raw samples, shaped as the model takes them.

    Args:
        path: the file given to ``kwb predict``.
        inputs: the model's inputs: name -> (sample shape, dtype); "" when the model has one.
        run_data: the run's ``data`` section (its ``x`` keys), or None when its config cannot be read.
        columns: the training CSV's columns (``csv_columns``), or None.

    Raises:
        DataError: the file is missing, of another kind, empty, or not shaped like the training data.
    """
    if run_data is None:  # a run whose config cannot be read: the defaults (key x, a comma-separated CSV)
        from engine.config import DataConfig

        run_data = DataConfig()
    if not path.exists():
        raise DataError("file not found", source=str(path))
    if path.is_dir():
        raise DataError("is a folder; expected a .npy, .npz or .csv file", source=str(path))
    if path.suffix == ".csv":
        x = _read_csv(path, inputs, run_data, columns)
    elif path.suffix in (".npy", ".npz"):
        x = _read_numpy(path, inputs, run_data)
    else:
        raise DataError(f"expected a .npy, .npz or .csv file, got {path.suffix or 'no suffix'!r}", source=str(path))
    return _shaped(path, x, inputs)


def _shaped(path: Path, x: dict[str, np.ndarray], inputs: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, Any]:
    """One sample becomes one row, flat rows take the sample shape; then every shape is checked."""
    out = {}
    for name, (want, _) in inputs.items():
        a = x[name]
        of = f" of input {name!r}" if name else ""
        if a.ndim == 0:
            raise DataError(f"holds a single number{of}; expected samples of shape {want}", source=str(path))
        if tuple(a.shape) == want and want != (1,):
            a = a[None]  # one sample (a 1-D row of the features)
        elif a.ndim == 1 and want == (1,):
            a = a[:, None]  # one feature: a column of samples
        if not len(a):
            raise DataError(f"holds no samples{of} (shape {a.shape})", source=str(path))
        if tuple(a.shape[1:]) != want and a.ndim == 2 and a.shape[1] == int(np.prod(want)):
            a = a.reshape((len(a), *want))  # flat rows (784 numbers for a (28, 28) model), never across rows
        if tuple(a.shape[1:]) != want:
            raise DataError(f"samples{of} have shape {tuple(a.shape[1:])}, the model expects {want}", source=str(path))
        out[name] = a
    if len({len(a) for a in out.values()}) > 1:
        rows = ", ".join(f"{n} {len(a)}" for n, a in out.items())
        raise DataError(f"every input needs the same number of samples, got {rows}", source=str(path))
    return out


def _numbers(a: np.ndarray, path: Path, what: str) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise DataError(f"{what} holds {a.dtype} values; expected numbers", source=str(path))
    return a.astype("float32") if a.dtype != np.float32 else a


def _read_numpy(path: Path, inputs: dict[str, Any], run_data: Any) -> dict[str, np.ndarray]:
    try:
        if path.suffix == ".npy":
            if len(inputs) > 1:
                raise DataError(f"the model has {len(inputs)} inputs ({', '.join(inputs)}): give an .npz file "
                                "with one array per input name", source=str(path))  # fmt: skip
            return {"": _numbers(np.load(path, allow_pickle=False), path, "the array")}
        with np.load(path, allow_pickle=False) as z:
            keys = run_data.x if isinstance(run_data.x, dict) else {"": run_data.x or "x"}
            out = {}
            for name in inputs:
                key = name if name and name in z.files else ("x" if "x" in z.files and not name else keys.get(name))
                if key not in z.files:
                    wanted = f"array for input {name!r}" if name else "key 'x'" + (
                        f" (or the run's data.x {keys[name]!r})" if keys.get(name) not in (None, "x") else "")
                    raise DataError(f"has no {wanted}; its keys are: {', '.join(z.files) or 'none'}", source=str(path))
                out[name] = _numbers(z[key], path, f"key {key!r}")
            return out
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"cannot read it as {path.suffix}: {exc}", source=str(path)) from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv(path: Path, inputs: dict[str, Any], run_data: Any, columns: dict[str, Any] | None) -> dict[str, Any]:
    """A CSV's rows as the model's inputs, columns matched by name when the file has a header."""
    from engine.data.csv_file import _Columns, _csv_table

    delimiter = getattr(run_data, "delimiter", ",")
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            first = next(csv.reader(fh, delimiter=delimiter), [])
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    header = _has_header([c.strip() for c in first], columns)
    cfg = run_data.model_copy(update={"header": header, "delimiter": delimiter})
    try:
        names, table = _csv_table(str(path), cfg, "INPUT")
    except DataError as exc:
        if "single column" not in exc.message:
            raise
        import pyarrow.csv as pcsv  # one feature: a single column is fine here

        table = pcsv.read_csv(str(path), read_options=pcsv.ReadOptions(autogenerate_column_names=not header))
        names = [str(i) for i in range(table.num_columns)] if not header else [n.strip() for n in table.column_names]
    cols = _Columns(str(path), cfg, table, names)
    picked = _pick_columns(path, names, header, columns, inputs)
    return _column_arrays(path, cols, picked, inputs)


def _has_header(cells: list[str], columns: dict[str, Any] | None) -> bool:
    """Whether a CSV's first line is its header: it names a training column, or (the training columns
    unknown, or none named) it holds words only. A first row of numbers with a word label or a text
    feature ("5.1,3.5,1.4,0.2,setosa") is data, not a header."""
    filled = [c for c in cells if c]
    words = [c for c in filled if not _is_number(c)]
    known = set((columns or {}).get("all") or ())
    if not known:
        return bool(words)
    return any(c in known for c in filled) or (bool(filled) and len(words) == len(filled))


def _pick_columns(path: Path, names: list[str], header: bool, columns: dict[str, Any] | None,
                  inputs: dict[str, Any]) -> list[int]:  # fmt: skip
    """Indices of the feature columns, in training order."""
    features = columns["features"] if columns else None
    if header and features:
        target = columns["target"] if columns else None
        missing = [f for f in features if f not in names]
        if missing:
            raise DataError(f"has no column {', '.join(map(repr, missing))} (the model was trained on "
                            f"{', '.join(features)})", source=str(path))  # fmt: skip
        unknown = [n for n in names if n not in features and n != target]
        if unknown:
            raise DataError(f"has column {', '.join(map(repr, unknown))} that the model was not trained on "
                            f"(its features: {', '.join(features)}; the target {target!r} may be present)",
                            source=str(path))  # fmt: skip
        return [names.index(f) for f in features]
    if header and not features and any(not _is_number(n) for n in names) and columns is None:
        pass  # a header, but the training columns are unknown (not a CSV run): take every column in order
    width = len(features) if features else None
    if width is not None and len(names) == width + 1 and columns and columns["target"] in columns["all"]:
        drop = columns["all"].index(columns["target"])  # the training file's layout, target included
        return [i for i in range(len(names)) if i != drop]
    return list(range(len(names)))


def _column_arrays(path: Path, cols: Any, picked: list[int], inputs: dict[str, Any]) -> dict[str, Any]:
    """Numbers as one float32 block (one input), or one array per column (inputs named by column)."""
    per_column = all(name in cols.names for name in inputs) and len(inputs) > 1
    if per_column:
        out = {}
        for name, (_, dtype) in inputs.items():
            i = cols.names.index(name)
            out[name] = cols.text(i).reshape(-1, 1) if "string" in str(dtype) else _numeric(path, cols, i)[:, None]
        return out
    if len(inputs) > 1:
        raise DataError(f"the model has {len(inputs)} inputs ({', '.join(inputs)}): give an .npz file with one "
                        "array per input name", source=str(path))  # fmt: skip
    return {"": np.stack([_numeric(path, cols, i) for i in picked], axis=1)}


def _numeric(path: Path, cols: Any, i: int) -> np.ndarray:
    values = cols.numbers(i)
    name = cols.names[i]
    if values is None:
        text = cols.text(i)
        bad = next(r for r, v in enumerate(text) if not _is_number(v))
        line, cell = cols.cell(bad, i)
        raise DataError(f"column {name!r} holds {cell!r} on line {line}; expected a number", source=str(path))
    row = cols.missing(i)
    if row is not None:
        line, cell = cols.cell(int(row), i)
        raise DataError(f"column {name!r} has no value on line {line}" + (f" ({cell!r})" if cell else ""),
                        source=str(path))  # fmt: skip
    return values.astype("float32")
