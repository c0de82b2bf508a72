"""Data that would train to nonsense, refused before training: NaN or Inf values, and a split that came out empty.

Who checks what:

* ``check_finite`` (called by ``engine.data.loader`` on what each in-memory source read,
  before shuffling, so a row is counted in file order): every value of every float array,
  inputs and targets, named by file, key or column, and row.
* ``check_stream_sample`` (the loader, for streamed HDF5): a sample of each split,
  ``SAMPLE_BLOCKS`` contiguous blocks of ``SAMPLE_ROWS`` rows spread over it (at most
  4,096 rows per split), read straight from the file, never the whole of it.
* ``check_splits`` (``engine.session.prepare``): a split that was asked for and is empty.
* Image folders decode to 0–255 integers, which cannot be NaN; their first batch goes
  through the one-batch probe (``engine.fit_checks.probe_one_batch``) like every source's.
* Labels against the model (a class number outside ``[0, output units)``, one-hot width
  against the output) need the model: ``engine.fit_checks``.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.named import each
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import DataConfig
    from engine.data.bundle import DataBundle

__all__ = ["SAMPLE_BLOCKS", "SAMPLE_ROWS", "check_finite", "check_stream_sample", "check_splits", "non_finite"]

SAMPLE_BLOCKS = 16
"""Blocks read from each streamed HDF5 split to look for NaN/Inf."""
SAMPLE_ROWS = 256
"""Rows per block (so at most 4,096 rows of each streamed split are read)."""


def non_finite(a: Any) -> tuple[int, tuple[int, ...], str] | None:
    """(how many values, the first one's index, "NaN"/"Inf"/"NaN and Inf") for a float array with any; else None."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc" or not a.size:
        return None
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    nan = bool(np.isnan(a).any())
    inf = bool(np.isinf(a).any())
    kind = "NaN and Inf" if nan and inf else ("NaN" if nan else "Inf")
    return int(bad.sum()), tuple(int(i) for i in np.argwhere(bad)[0]), kind


def check_finite(x: Any, y: Any, cfg: "DataConfig", source: str | None, prefix: str = "data", first_row: int = 0) -> None:
    """Refuse NaN or Inf anywhere in ``x`` or ``y`` (arrays, or dicts of them by input / output name).

    Args:
        x: the inputs as read from the file (or the source), before shuffling.
        y: the targets, likewise.
        cfg: the ``data`` section (CSV column names are looked up through it).
        source: the file read, for the message; None for a built-in source.
        prefix: the key of that file's section ("data", "data.validation", "data.test"). Defaults to "data".
        first_row: the index of the first row given (a streamed sample's block). Defaults to 0.

    Raises:
        DataError: naming the file, the key or column, the row, and how many values are bad.
    """
    for field, arrays in (("x", x), ("y", y)):
        for name, a in each(arrays):
            found = non_finite(a)
            if found is None:
                continue
            count, index, kind = found
            row = index[0] + first_row
            where = _where(cfg, source, prefix, field, name, index)
            rows = int((~np.isfinite(np.asarray(a).reshape(len(a), -1))).any(axis=1).sum())
            feature = f", feature {list(index[1:])}" if len(index) > 1 and not where.startswith("column") else ""
            raise DataError(
                f"{where} holds {kind}: {count} value{'s' * (count != 1)} in {rows} row{'s' * (rows != 1)}, "
                f"the first {_row_words(cfg, source, row)}{feature}. One NaN or Inf value makes the loss NaN: fix or "
                "drop those rows", source=source, key=_key(cfg, prefix, field, name),
            )  # fmt: skip


def _row_words(cfg: "DataConfig", source: str | None, row: int) -> str:
    """Where data row ``row`` (0-based) is: its line in a CSV file, as an editor counts; else its row number."""
    if cfg.source == "csv" and source:
        from engine.data.csv_file import _locate

        try:
            return f"on line {_locate(source, cfg, row)[0]}"
        except (OSError, AssertionError, csv.Error):
            pass
    return f"in data row {row + 1}"


def _mapped(cfg: "DataConfig", field: str) -> bool:
    """Whether the config maps names to columns for ``field`` (``data.x`` / ``data.y`` as a mapping); a CSV read
    with text columns also has one name per column, without a mapping (the name is then the column)."""
    return isinstance(cfg.x if field == "x" else cfg.y, dict)


def _key(cfg: "DataConfig", prefix: str, field: str, name: str) -> str:
    if cfg.source == "csv":
        if name and not _mapped(cfg, field):
            return "data.features" if prefix == "data" else f"{prefix}.path"
        if field == "y":
            return f"{prefix}.y.{name}" if name else f"{prefix}.target"
        return f"{prefix}.x.{name}" if name else ("data.features" if prefix == "data" else f"{prefix}.path")
    return f"{prefix}.{field}.{name}" if name else f"{prefix}.{field}"


def _where(cfg: "DataConfig", source: str | None, prefix: str, field: str, name: str, index: tuple[int, ...]) -> str:
    """What holds the bad value, in the user's words: a CSV column, a key of the file, an input or output name."""
    what = "the input array" if field == "x" else "the target array"
    if name:
        what = f"{'input' if field == 'x' else 'output'} {name!r}"
    if cfg.source == "csv" and source:
        if name and not _mapped(cfg, field):
            return f"column {name!r}"
        columns = _csv_columns(cfg, source, field, name)
        col = index[1] if len(index) > 1 else 0
        if columns is not None and col < len(columns):
            return f"column {columns[col]!r}"
    elif source and cfg.source in ("npz", "hdf5"):
        keys = cfg.x if field == "x" else cfg.y
        key = keys.get(name) if isinstance(keys, dict) else keys
        what = f"{what} ({'dataset' if cfg.source == 'hdf5' else 'key'} {key or field!r})"
    return what


def _csv_columns(cfg: "DataConfig", path: str, field: str, name: str) -> list[str] | None:
    """The CSV columns behind ``x`` or ``y`` (or one named input / output), read from the header; None when unsure."""
    if not cfg.header:
        return None
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            header = [h.strip() for h in next(csv.reader(fh, delimiter=cfg.delimiter))]
    except (OSError, StopIteration, csv.Error):
        return None
    mapping = cfg.x if field == "x" else cfg.y
    if name and isinstance(mapping, dict):
        cols = mapping.get(name)
        return [cols] if isinstance(cols, str) else (list(cols) if cols else None)
    target = cfg.target if cfg.target is not None else -1
    if isinstance(target, int):
        t = target if target >= 0 else len(header) + target
        target_name = header[t] if 0 <= t < len(header) else None
    else:
        target_name = target
    if field == "y":
        return [target_name] if target_name else None
    return list(cfg.features) if cfg.features else [h for h in header if h != target_name]


def _blocks(n: int) -> list[tuple[int, int]]:
    """Up to ``SAMPLE_BLOCKS`` row ranges of ``SAMPLE_ROWS`` spread evenly over ``n`` rows (all of them when few)."""
    if n <= SAMPLE_BLOCKS * SAMPLE_ROWS:
        return [(0, n)] if n else []
    starts = np.linspace(0, n - SAMPLE_ROWS, SAMPLE_BLOCKS).astype(int)
    return [(int(s), int(s) + SAMPLE_ROWS) for s in starts]


def check_stream_sample(bundle: "DataBundle", cfg: "DataConfig") -> None:
    """Look for NaN/Inf in a sample of each streamed HDF5 split (``SAMPLE_BLOCKS`` × ``SAMPLE_ROWS`` rows).

    Raises:
        DataError: as ``check_finite``, the row counted from the start of the file.
    """
    for ds in (bundle.train_ds, bundle.val_ds, bundle.test_ds):
        rows = getattr(ds, "rows", None)
        if rows is None:
            continue  # not an HDF5Sequence (an image folder's tf.data pipeline)
        for lo, hi in _blocks(ds.stop - ds.start):
            x, y = rows(lo, hi)
            check_finite(x, y, cfg, ds.path, "data", first_row=ds.start + lo)


def check_splits(cfg: "DataConfig", bundle: "DataBundle") -> None:
    """Refuse an empty training split, or a validation / test split that was asked for and holds nothing.

    Raises:
        DataError: naming the split's key and how many samples there are.
    """
    total = bundle.train_samples + bundle.val_samples + bundle.test_samples
    if bundle.train_samples == 0:
        key = "data.limit" if cfg.limit is not None else "data.validation_split"
        raise DataError(f"the training split is empty ({total} samples in all)", key=key)
    for split, given, fraction, n in (
        ("validation", cfg.validation, cfg.validation_split, bundle.val_samples),
        ("test", cfg.test, cfg.test_split, bundle.test_samples),
    ):
        if n:
            continue
        if given is not None:
            raise DataError("holds no samples", source=given.path, key=f"data.{split}.path")
        if fraction > 0 and not (split == "test" and cfg.source == "keras"):
            raise DataError(
                f"asks for a {split} split of {fraction:g}, which leaves 0 of the {total} samples: raise it, "
                f"or set it to 0 for no {split} split", key=f"data.{split}_split",
            )  # fmt: skip
