"""The Runs screen's table as columns fitted to the terminal: which columns, their cells, which give way first;
which rows a filter keeps, and the points of the metric-against-setting plot.

Pure (Rich text only, no widgets), so the fitting is tested without an app. Columns keep
their order on screen; when they do not fit, the run's id first loses its date and a
setting's header shortens to its last word (``units``), then columns go by ``Column.keep`` (the least needed first): a second metric, then the
differing settings from the last, then epochs. The run, its status, its headline metric
and its duration stay (issue 15: at 80×24 the duration was cut).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text

from tui.state import format_duration
from tui.widgets.run_header import STATUS_STYLES

if TYPE_CHECKING:
    from engine.compare import Comparison, RunRow, SortKey

__all__ = ["Column", "build_columns", "filter_rows", "fit_columns", "fitted", "metric_columns", "scatter_points", "sort_cycle"]

PADDING = 2
"""A DataTable cell's padding, both sides together."""


@dataclass(frozen=True)
class Column:
    """One table column: its key (``engine.compare`` column name, or ``mark``), header, cells, and how much it is needed."""

    key: str
    header: str
    cells: tuple[Text, ...]
    keep: int
    """Lower is kept longer; columns with the highest go first when the table is too wide."""

    @property
    def width(self) -> int:
        return max([len(self.header), *(c.cell_len for c in self.cells)]) + PADDING


def metric_columns(comp: Comparison) -> list[str]:
    """The metrics the table shows (their best values): validation ones when there are any, at most three."""
    return ([m for m in comp.metrics if m.startswith("val_")] or comp.metrics)[:3]


def sort_cycle(comp: Comparison) -> list[str]:
    """The columns ``o`` steps through, in table order."""
    return ["run", "state", "epochs", *(comp.names[p] for p in comp.settings), *(f"best_{m}" for m in metric_columns(comp)), "duration"]


def _run_text(row: RunRow, short: bool) -> Text:
    run_id = row.id
    if short and run_id[:8].isdigit() and run_id[8:9] == "-":
        run_id = run_id[9:]  # the date goes first: the time and the name still tell runs apart
    return Text(run_id)


def _status(row: RunRow) -> Text:
    text = Text(row.info.state, style=STATUS_STYLES.get(row.info.state, ""))
    if row.damaged:
        text.append(" damaged", style="red")
    return text


def _headers(settings: list[str], short: bool) -> list[str]:
    """The settings' headers: their short names, or (``short``) the last word of each where no other ends in it."""
    words = [name.rsplit(".", 1)[-1] for name in settings]
    return [word if short and words.count(word) == 1 else name for name, word in zip(settings, words)]


def build_columns(comp: Comparison, rows: list[RunRow], marked: frozenset[str], sort: SortKey | None, short: bool) -> list[Column]:
    """Every column the table can show, in screen order, with its cells for ``rows`` and the sort arrow on its header.

    ``short``: the run ids without their date and the settings under their last word (``units``), for a narrow terminal.
    """
    metrics = metric_columns(comp)
    settings = [comp.names[p] for p in comp.settings]
    cols = [
        Column("mark", " ", tuple(Text("●" if r.id in marked else " ") for r in rows), 0),
        Column("run", "run", tuple(_run_text(r, short) for r in rows), 0),
        Column("state", "status", tuple(_status(r) for r in rows), 1),
        Column("epochs", "epochs", tuple(Text(comp.cell(r, "epochs")) for r in rows), 20),
    ]
    cols += [Column(name, header, tuple(Text(comp.cell(r, name)) for r in rows), 30 + i)
             for i, (name, header) in enumerate(zip(settings, _headers(settings, short)))]  # fmt: skip
    cols += [Column(f"best_{m}", m, tuple(Text(comp.cell(r, f"best_{m}"), justify="right") for r in rows), 3 if i == 0 else 50 + i)
             for i, m in enumerate(metrics)]  # fmt: skip
    cols.append(Column("duration", "duration", tuple(Text(format_duration(r.info.duration_s), justify="right") for r in rows), 2))
    if sort is not None:
        cols = [Column(c.key, c.header + (" ▼" if sort.descending else " ▲"), c.cells, c.keep) if c.key == sort.column else c for c in cols]
    return cols


def fit_columns(columns: list[Column], width: int) -> list[Column]:
    """The columns that fit in ``width`` cells, in their order, dropping the least needed first."""
    kept = list(columns)
    while len(kept) > 2 and sum(c.width for c in kept) > width:
        kept.remove(max(kept, key=lambda c: (c.keep, kept.index(c))))
    return kept


def fitted(comp: Comparison, rows: list[RunRow], marked: frozenset[str], sort: SortKey | None, width: int) -> tuple[list[Column], int]:
    """The table's columns at ``width`` and how many were left out; ids and headers shorten before a column goes."""
    full = build_columns(comp, rows, marked, sort, short=False)
    kept = fit_columns(full, width)
    if len(kept) < len(full):
        short = build_columns(comp, rows, marked, sort, short=True)
        kept = fit_columns(short, width)
        return kept, len(short) - len(kept)
    return kept, 0


def filter_rows(comp: Comparison, rows: list[RunRow], text: str) -> list[RunRow]:
    """The rows where every word of ``text`` is found (case aside).

    A word with ``=`` is looked for among the run's ``setting=value`` pairs (``lr=0.01``);
    any other among its id, status and setting values.
    """
    words = text.lower().split()
    if not words:
        return rows

    def haystack(row: RunRow, word: str) -> str:
        cells = [comp.cell(row, comp.names[p]) for p in comp.settings]
        if "=" in word:
            return " ".join(f"{comp.names[p]}={cell}" for p, cell in zip(comp.settings, cells)).lower()
        return " ".join([row.id, row.info.state, *cells]).lower()

    return [r for r in rows if all(w in haystack(r, w) for w in words)]


def scatter_points(comp: Comparison, rows: list[RunRow], setting: str, metric: str) -> tuple[tuple[Any, float], ...]:
    """(setting value, metric value) of each run that has both (a run whose settings are unknown, or lack this one, has neither)."""
    from engine.compare import MISSING, UNKNOWN

    points = []
    for row in rows:
        x, y = comp.value(row, setting), comp.value(row, metric)
        if x in (MISSING, UNKNOWN):
            continue  # "-" is no value of the setting: a script run has no seed, a config run no script options
        if row.settings is not None and isinstance(y, (int, float)) and not isinstance(y, bool):
            points.append((x, float(y)))
    return tuple(points)
