"""CSV files in memory, parsed by pyarrow: the table, feature columns (numbers, or text), target columns.

Why pyarrow's CSV reader and not a Python loop or pandas: it parses in C++ on several
threads straight from the file into typed columns (no Python object per cell, no row
lists), infers each column's type over the whole file, and pandas' own fast path
(``engine="pyarrow"``) is this reader plus a conversion to a DataFrame that kwb would
only convert back to numpy. The figures (time and peak memory against the old loop)
are in ``benchmarks/results/csv_read.json`` and docs/performance.md.

A file of 16 MiB or more is cut at line ends into byte ranges, one per core (at most
four, each at least 8 MiB), streamed on as many threads (pyarrow parses without the GIL)
and joined in order: on two cores that reads the benchmark's 41 MiB file in about
two-thirds of the single stream's time, at a peak memory near the single stream's, where
pyarrow's own threaded ``read_csv`` was as fast but held 3x the file. A file with a quote
character anywhere is read as one stream, since a quoted field may hold a line end.

What the reader keeps from the old one: header detection by ``data.header``, the
``data.delimiter``, the target column choice, blank lines skipped, and every bad-input
message naming the file, the column and the line. Line numbers are only needed when
something is wrong, so they are found then, by a second pass with Python's ``csv``
module over the file (``_locate``); the fast path never counts lines.

Feature columns: numbers become float32. A missing numeric cell (empty, or a
missing-value word such as ``nan`` or ``NA``) is refused naming the line; a non-numeric
(text) feature column is refused with the old message unless the caller passes
``text_features=True``, in which case the features come back as
``{column name: (rows, 1) array}`` (float32 for numeric columns, an object array of
str, stripped, for text ones, empty cells kept as "") for the in-model preprocessing.
"""

from __future__ import annotations

import csv
import mmap
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import _check_file
from engine.errors import DataError, suggest
from engine.words import counted

if TYPE_CHECKING:
    import pyarrow as pa

    from engine.config import DataConfig


def _check_text(path: str, key: str) -> None:
    """Refuse a folder, a missing, empty or binary file before the parser sees it (reads 8 KiB)."""
    _check_file(path, key, "CSV text")
    with open(path, "rb") as f:
        head = f.read(8192)
    controls = sum(b < 32 and b not in (9, 10, 12, 13) for b in head)
    if b"\x00" in head or controls > len(head) // 100 + 1:
        raise DataError("is a binary file, expected CSV text", source=path, key=key)
    if not head.lstrip(b"\xef\xbb\xbf").strip() and Path(path).stat().st_size <= len(head):
        raise DataError("file is empty, expected CSV text", source=path, key=key)


def _records(path: str, cfg: "DataConfig"):
    """(line, fields) of every non-blank record, in the table's order, read as a stream; the line is the
    record's first line in the file, as an editor shows it (a quoted field may hold line ends). UTF-8, or
    Latin-1 from the first record that is not UTF-8 on (the records already given are not given again)."""
    given = 0
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            with open(path, newline="", encoding=encoding) as fh:
                reader = csv.reader(fh, delimiter=cfg.delimiter)
                line, n = 1, 0
                for r in reader:
                    if any(c.strip() for c in r):
                        n += 1
                        if n > given:
                            given = n
                            yield line, r
                    line = reader.line_num + 1
            return
        except UnicodeDecodeError:
            continue  # Latin-1 decodes any byte


def _locate(path: str, cfg: "DataConfig", row: int) -> tuple[int, list[str]]:
    """(line, fields) of data row ``row`` (0-based, header excluded); only called to word an error."""
    skip = 1 if cfg.header else 0
    for n, (line, r) in enumerate(_records(path, cfg)):
        if n == row + skip:
            return line, r
    raise AssertionError(f"row {row} not found in {path}")


def _parse_error(path: str, cfg: "DataConfig", key: str, exc: Exception) -> DataError:
    """The old message for the first ragged record or csv error, found by Python's csv module."""
    width = None
    try:
        for line, r in _records(path, cfg):  # streamed: a big file's records are never all held
            width = len(r) if width is None else width
            if len(r) != width:
                return DataError(
                    f"line {line} has {counted(len(r), 'field')} but the {'header' if cfg.header else 'first row'} "
                    f"has {width}" + (f" (is data.delimiter {cfg.delimiter!r} right?)" if width == 1 or len(r) == 1 else ""),
                    source=path, key=key,
                )  # fmt: skip
    except csv.Error as err:
        return DataError(f"is not valid CSV: {err}", source=path, key=key)
    return DataError(f"is not valid CSV: {exc}", source=path, key=key)


def _arrow_read(path: str, cfg: "DataConfig", key: str, encoding: str = "utf8", text_columns=None,
                whole: bool = False) -> "pa.Table":
    """The whole file as an Arrow table (``text_columns`` kept as strings).

    Streamed block by block (1 MiB) so the parser's buffers stay small; the column types
    are inferred on the first block, and when a later block does not fit them (a column
    of integers that turns to decimals or words further down) the file is read again in
    one piece (``whole``), which infers the types over every block.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    blank = cfg.delimiter + " \t\r\n"

    def invalid_row(row) -> str:
        return "skip" if not row.text.strip(blank) else "error"

    types = {c: pa.string() for c in text_columns or ()}
    options = dict(
        read_options=pacsv.ReadOptions(autogenerate_column_names=not cfg.header, encoding=encoding),
        parse_options=pacsv.ParseOptions(delimiter=cfg.delimiter, newlines_in_values=True, invalid_row_handler=invalid_row),
    )
    try:
        if whole:
            return pacsv.read_csv(path, **options, convert_options=pacsv.ConvertOptions(column_types=types))
        # the first block's types, with decimals parsed straight to float32 (what kwb feeds the
        # model): a third less parsing time and half the memory of float64 columns
        sniffed = pacsv.open_csv(path, **options, convert_options=pacsv.ConvertOptions(column_types=types)).schema
        types |= {f.name: pa.float32() for f in sniffed if pa.types.is_float64(f.type) and f.name not in types}
        ranges = _ranges(path)
        if len(ranges) == 1:
            return pacsv.open_csv(path, **options, convert_options=pacsv.ConvertOptions(column_types=types)).read_all()
        # every range gets every column's type, so their tables join; the later ones have no header
        types |= {f.name: f.type for f in sniffed if f.name not in types}
        later = pacsv.ReadOptions(column_names=sniffed.names, encoding=encoding)
        return _read_ranges(path, ranges, options, later, pacsv.ConvertOptions(column_types=types))
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) and encoding == "utf8":
            return _arrow_read(path, cfg, key, "latin-1", text_columns, whole)
        if "conversion error" in str(exc) and not whole:
            return _arrow_read(path, cfg, key, encoding, text_columns, whole=True)
        raise _parse_error(path, cfg, key, exc) from None


SPLIT_BYTES = 8 << 20  # the least bytes a range is cut to; a file under twice this is one stream
_MAX_RANGES = 4


class _Range:
    """Bytes ``start`` to ``end`` of a file, as the file object pyarrow reads a range from."""

    closed = False

    def __init__(self, path: str, start: int, end: int):
        self._f = open(path, "rb", buffering=0)
        self._f.seek(start)
        self._left = end - start

    def read(self, n: int | None = -1) -> bytes:
        data = self._f.read(self._left if n is None or n < 0 else min(n, self._left))
        self._left -= len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._f.close()
        self.closed = True


def _has_quote(path: str, size: int) -> bool:
    """Whether the file holds a ``"`` (looked for through 4 MiB windows of a map, so it is never held whole)."""
    window = 1 << 22
    with open(path, "rb") as f:
        for offset in range(0, size, window):
            with mmap.mmap(f.fileno(), min(window, size - offset), offset=offset, access=mmap.ACCESS_READ) as m:
                if m.find(b'"') >= 0:
                    return True
    return False


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _ranges(path: str) -> list[tuple[int, int]]:
    """The byte ranges to read in parallel: each ends on a line end, one per usable core (see the docstring)."""
    size = os.path.getsize(path)
    count = min(_usable_cores(), _MAX_RANGES, size // SPLIT_BYTES)
    if count < 2 or _has_quote(path, size):
        return [(0, size)]
    starts = [0]
    with open(path, "rb") as f:
        for k in range(1, count):
            f.seek(max(size * k // count, starts[-1]))
            f.readline()
            starts.append(f.tell())
    bounds = sorted(set(starts)) + [size]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _read_ranges(path: str, ranges, options: dict, later, convert) -> "pa.Table":
    """The ranges streamed on one thread each and joined in order; the first range's error is raised."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    tables: list = [None] * len(ranges)
    errors: list = [None] * len(ranges)

    def read(k: int) -> None:
        read_options = options["read_options"] if k == 0 else later
        source = pa.PythonFile(_Range(path, *ranges[k]), mode="r")
        try:
            tables[k] = pacsv.open_csv(source, read_options=read_options, parse_options=options["parse_options"],
                                       convert_options=convert).read_all()
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread below
            errors[k] = exc
        finally:
            source.close()

    threads = [threading.Thread(target=read, args=(k,), name=f"kwb-csv-{k}") for k in range(1, len(ranges))]
    for t in threads:
        t.start()
    read(0)
    for t in threads:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return pa.concat_tables(tables)


def _drop_blank_rows(table: "pa.Table") -> "pa.Table":
    """Rows whose every cell is empty (a line of bare delimiters) dropped, as the old reader skipped them."""
    if table.num_columns == 0 or any(c.null_count == 0 and not _is_text(c.type) for c in table.columns):
        return table
    import pyarrow.compute as pc  # costs ~0.3 s to import: only on this rare path

    blank = None
    for c in table.columns:
        empty = pc.equal(pc.utf8_trim_whitespace(c), "") if _is_text(c.type) else pc.is_null(c)
        blank = empty if blank is None else pc.and_(blank, empty)
    return table.filter(pc.invert(blank)) if pc.any(blank).as_py() else table


def _is_text(t) -> bool:
    import pyarrow as pa

    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _csv_table(path: str, cfg: "DataConfig", key: str) -> tuple[list[str], "pa.Table"]:
    """(column names, table) of a CSV file, every row as wide as the header."""
    if len(cfg.delimiter) != 1:
        raise DataError(f"is one character, got {cfg.delimiter!r}", key="data.delimiter")
    import pyarrow as pa

    _check_text(path, key)
    table = _arrow_read(path, cfg, key)
    if any(pa.types.is_binary(t) for t in table.schema.types):
        table = _arrow_read(path, cfg, key, "latin-1")
    table = _drop_blank_rows(table)
    pa.default_memory_pool().release_unused()  # the parser's freed buffers back to the system before numpy copies
    names = [str(i) for i in range(table.num_columns)] if not cfg.header else [n.strip() for n in table.column_names]
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise DataError(f"names the column {twice!r} twice in its header; every column needs a name of its own",
                        source=path, key=key)  # fmt: skip
    if table.num_rows == 0:
        raise DataError("has a header but no data rows", source=path, key=key)
    if table.num_columns < 2:
        raise DataError(
            f"has a single column; need features and a target (is data.delimiter {cfg.delimiter!r} right?)",
            source=path, key=key,
        )
    return names, table


class _Columns:
    """One CSV table's columns, each converted once: numbers as float64 numpy, text as stripped str."""

    def __init__(self, path: str, cfg: "DataConfig", table: "pa.Table", names: list[str]):
        self.path, self.cfg, self.table, self.names = path, cfg, table, names
        self._numbers: dict[int, np.ndarray | None] = {}
        self._text: dict[int, np.ndarray] = {}

    def numbers(self, i: int):
        """Column ``i`` as a numpy array (int64 or float64, NaN where a cell was missing), or None if text."""
        if i not in self._numbers:
            self._numbers[i] = _as_numbers(self.table.column(i))
        return self._numbers[i]

    def is_numeric(self, i: int) -> bool:
        """Whether column ``i`` holds numbers (or nothing): a look at its type, unless it was read as text."""
        t = self.table.column(i).type
        return not _is_text(t) or self.numbers(i) is not None

    def mostly_numbers(self, i: int) -> bool:
        """Whether more than half of text column ``i``'s non-empty cells are numbers (then a word in it is a typo)."""
        import pyarrow.compute as pc

        col = pc.utf8_trim_whitespace(self.table.column(i))
        filled = len(col) - col.null_count - (pc.sum(pc.equal(col, "")).as_py() or 0)
        numbers = pc.sum(pc.match_substring_regex(col, _NUMBER)).as_py() or 0
        return filled > 0 and numbers * 2 > filled

    def numbers_block(self, idx: list[int]) -> np.ndarray | None:
        """Columns ``idx`` as a float32 (rows, columns) array, made row-major by pyarrow batch by batch
        (``RecordBatch.to_tensor``; a third of the time of copying strided columns from Python), when every
        one is an int64 or float column with no missing cell and no NaN; None sends the caller to the
        checked path, which words the error."""
        chosen = self.table.select(idx)
        if any(str(t) not in _NUMPY_TYPES for t in chosen.schema.types) or any(c.null_count for c in chosen.columns):
            return None
        x = np.empty((chosen.num_rows, len(idx)), dtype="float32")
        start = 0
        for batch in chosen.to_batches():
            x[start:start + batch.num_rows] = np.asarray(batch.to_tensor(row_major=True))
            start += batch.num_rows
        return None if np.isnan(x).any() else x

    def missing(self, i: int) -> int | None:
        """The first row of column ``i`` with no value (an empty or missing-value cell), else None."""
        col = self.table.column(i)
        if col.null_count:
            import pyarrow.compute as pc

            return int(pc.index(pc.is_null(col), True).as_py())
        values = self.numbers(i)
        if values is not None and values.dtype.kind == "f":
            bad = np.flatnonzero(np.isnan(values))
            return int(bad[0]) if bad.size else None
        return None

    def text(self, i: int) -> np.ndarray:
        """Column ``i`` as an object array of stripped str, exactly as written in the file."""
        if i not in self._text:
            col = self.table.column(i)
            if not _is_text(col.type):
                raw = _arrow_read(self.path, self.cfg, "data.path", text_columns=[self.table.column_names[i]])
                col = _drop_blank_rows(raw).column(i)
            import pyarrow.compute as pc

            self._text[i] = pc.utf8_trim_whitespace(col).to_numpy(zero_copy_only=False).astype(object)
        return self._text[i]

    def cell(self, row: int, i: int) -> tuple[int, str]:
        """(line, stripped text) of one cell, for an error message."""
        line, fields = _locate(self.path, self.cfg, row)
        return line, fields[i].strip() if i < len(fields) else ""


def _as_numbers(col: "pa.ChunkedArray") -> np.ndarray | None:
    """int64, float64 or float32 numpy (NaN for nulls) if every cell is a number or missing, else None."""
    import pyarrow as pa

    t = col.type
    if pa.types.is_null(t):
        return np.full(len(col), np.nan)
    if _is_text(t):  # numbers with odd spacing or quoting: trimmed and parsed (rare, so pyarrow.compute here)
        import pyarrow.compute as pc

        try:
            return pc.cast(pc.utf8_trim_whitespace(col), pa.float64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    dtype = _NUMPY_TYPES.get(str(t))
    if dtype is not None:  # what the CSV reader infers (int64, float64) or _arrow_read asks for (float32)
        parts = [_chunk_numbers(c, dtype) for c in col.chunks]
        return np.concatenate(parts) if parts else np.empty(0)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return col.cast(pa.float64()).to_numpy()
    return None


_NUMBER = r"(?i)^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^[-+]?(inf|infinity|nan)$"
"""A cell that reads as a number (what ``float()`` takes, less underscores), for ``_Columns.mostly_numbers``."""

_NUMPY_TYPES = {"int64": np.dtype("int64"), "double": np.dtype("float64"), "float": np.dtype("float32")}
"""The Arrow column types the reader produces for numbers (int64, float64 inferred; float32 asked for), as numpy's."""


def _chunk_numbers(chunk: "pa.Array", dtype: np.dtype) -> np.ndarray:
    """One int64/float64/float32 chunk as numpy, NaN for nulls (an int64 chunk then becomes float64), from its buffers.

    ``Array.to_numpy`` would do it, but its first call imports pandas when pandas is
    installed (pyarrow's pandas shim), about a second for nothing kwb uses.
    """
    n, offset = len(chunk), chunk.offset
    validity, data = chunk.buffers()[:2]
    values = np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]
    if not chunk.null_count:
        return values
    valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little", count=offset + n)[offset:]
    out = values.astype("float64" if dtype.kind == "i" else dtype)
    out[valid == 0] = np.nan
    return out


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


def _columns(spec: Any, names: list[str], path: str, key: str) -> list[int]:
    """The column indexes a mapping's value names: one column (name or index) or a list of them."""
    specs = spec if isinstance(spec, list) else [spec]
    if not specs:
        raise DataError("lists no columns", source=path, key=key)
    return [_column_index(c, names, path, key) for c in specs]


def _first_non_number(cols: _Columns, i: int) -> int:
    """The first row of text column ``i`` whose cell is not a number (what the old reader stopped at)."""
    for row, v in enumerate(cols.text(i)):
        try:
            float(v)
        except ValueError:
            return row
    return 0


def _numeric_column(cols: _Columns, i: int, key: str) -> np.ndarray:
    """Column ``i`` as float32; a text column or a missing cell refused naming the column and the line."""
    values = cols.numbers(i)
    name, path = cols.names[i], cols.path
    if values is None:
        line, v = cols.cell(_first_non_number(cols, i), i)
        raise DataError(f"column {name!r} is not numeric: line {line} holds {v!r}", source=path, key=key)
    row = cols.missing(i)
    if row is not None:
        line, v = cols.cell(row, i)
        if not v:
            raise DataError(f"column {name!r} is not numeric: line {line} is empty", source=path, key=key)
        raise DataError(f"column {name!r} has a missing value: line {line} holds {v!r}", source=path, key=key)
    return values.astype("float32", copy=False)


def _csv_numbers(cols: _Columns, idx: list[int], key: str) -> np.ndarray:
    """The given columns as a float32 (rows, columns) array."""
    x = cols.numbers_block(idx)
    if x is None:
        x = np.empty((cols.table.num_rows, len(idx)), dtype="float32")
        for j, i in enumerate(idx):
            x[:, j] = _numeric_column(cols, i, key)
    return x


def _csv_features(cols: _Columns, idx: list[int], key: str, text_features: bool) -> Any:
    """The feature columns: a float32 array, or (``text_features`` and a text column among them)
    ``{column name: (rows, 1) array}``, float32 for numbers and str objects for text."""
    if not text_features or all(cols.is_numeric(i) for i in idx):
        return _csv_numbers(cols, idx, key)
    for i in idx:
        if not cols.is_numeric(i) and cols.mostly_numbers(i):  # a typo in a column of numbers, not a text column
            line, v = cols.cell(_first_non_number(cols, i), i)
            raise DataError(f"column {cols.names[i]!r} holds {v!r} on line {line}, but most of its cells are numbers: "
                            "a number was expected there (a column of words is read as text)", source=cols.path, key=key)  # fmt: skip
    return {
        cols.names[i]: (
            _numeric_column(cols, i, key) if cols.numbers(i) is not None else cols.text(i)
        ).reshape(-1, 1)
        for i in idx
    }


def _csv_target(cols: _Columns, t: int, key: str, label_map):
    """One target column: integer labels, floats, or words (class labels in sorted order); (y, label map)."""
    name, path = cols.names[t], cols.path
    values = cols.numbers(t)
    row = cols.missing(t) if values is not None else next(iter(np.flatnonzero(cols.text(t) == "")), None)
    if row is not None:
        line, v = cols.cell(int(row), t)
        suffix = "" if not v else f" (it holds {v!r}, a missing value)"
        raise DataError(f"target column {name!r} is empty on line {line}{suffix}", source=path, key=key)
    if values is not None:
        if values.dtype.kind == "i":
            return (values.astype("int32") if values.min() >= 0 else values.astype("float32")), label_map
        return values.astype("float32", copy=False), label_map
    col = cols.text(t)
    if label_map is None:
        label_map = {w: i for i, w in enumerate(sorted(set(col)))}
    unknown = sorted(set(col) - set(label_map))
    if unknown:
        raise DataError(
            f"target column {name!r} has labels not in the training data: {', '.join(map(repr, unknown[:5]))}",
            source=path, key=key,
        )
    return np.array([label_map[v] for v in col], dtype="int32"), label_map


def _read_y(cols: _Columns, y_key, target, prefix: str, label_maps: dict) -> tuple[Any, set[int]]:
    """(y, the target columns used)."""
    names, path = cols.names, cols.path
    used: set[int] = set()
    if isinstance(y_key, dict):
        y: Any = {}
        for out, spec in y_key.items():
            key = f"{prefix}.y.{out}"
            idx = _columns(spec, names, path, key)
            used.update(idx)
            if len(idx) == 1:
                y[out], found = _csv_target(cols, idx[0], key, label_maps.get(out))
                if found is not None:
                    label_maps[out] = found
            else:
                y[out] = _csv_numbers(cols, idx, key)
        return y, used
    target_key = "data.target" if prefix == "data" or target is None else f"{prefix}.target"
    t = _column_index(target if target is not None else -1, names, path, target_key)
    y, found = _csv_target(cols, t, target_key, label_maps.get(""))
    if found is not None:
        label_maps[""] = found
    return y, {t}


def _read_csv(path, x_key, y_key, target, cfg, prefix, label_maps, text_features: bool = False):
    """(x, y, label maps): ``x_key`` / ``y_key`` map input / output names to column lists, or are None
    (then ``data.features`` and ``data.target``, by default every other column and the last one).
    ``text_features`` lets text feature columns through (see the module docstring); otherwise they
    are refused naming the first cell that is not a number."""
    names, table = _csv_table(path, cfg, f"{prefix}.path")
    cols = _Columns(path, cfg, table, names)
    y, used = _read_y(cols, y_key, target, prefix, label_maps)
    if isinstance(x_key, dict):
        x: Any = {
            name: _csv_features(cols, _columns(spec, names, path, f"{prefix}.x.{name}"), f"{prefix}.x.{name}",
                                False)
            for name, spec in x_key.items()
        }  # fmt: skip
    else:
        if cfg.features:
            f_idx = [_column_index(f, names, path, "data.features") for f in cfg.features]
        else:
            f_idx = [i for i in range(len(names)) if i not in used]
        x = _csv_features(cols, f_idx, "data.features", text_features)
    return x, y, label_maps
