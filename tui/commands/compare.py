"""``kwb compare``: runs side by side, the settings that differ next to epochs, duration and best and final metrics.

The table is :mod:`engine.compare`'s, the same the Runs screen shows; this verb prints it
for people (validation metrics when the runs have them) or, with ``--csv``, one row per run
with every metric to stdout.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from tui.commands.common import RunsDirOpt, bad_input, runs_dir_or_default

if TYPE_CHECKING:
    from engine.compare import Comparison, RunRow

__all__ = ["compare", "resolve_runs", "table_columns"]


def resolve_runs(refs: list[str], runs_dir: Path) -> list[Path]:
    """Each RUN as run directories: a path, an id, or a part of ids (every run it names); none given: every run.

    Raises:
        UserError: a RUN names no run (``key="RUN"``).
    """
    from engine.errors import UserError
    from engine.runs import list_runs

    listed = [info.path for info in reversed(list_runs(runs_dir))]  # oldest first
    if not refs:
        return listed
    out: list[Path] = []
    for ref in refs:
        path = Path(ref)
        if (path / "status.json").exists():
            found = [path]
        else:
            found = [p for p in listed if p.name == ref] or [p for p in listed if ref in p.name]
        if not found:
            raise UserError(f"no run {ref!r} (looked for a run directory path and under {runs_dir}/)", key="RUN")
        out += [p for p in found if p not in out]
    return out


def table_columns(comp: Comparison) -> list[str]:
    """The human table's columns: validation metrics only when there are some (the CSV has them all)."""
    shown = [m for m in comp.metrics if m.startswith("val_")] or comp.metrics
    settings = [comp.names[p] for p in comp.settings]
    return ["run", "state", "epochs", *settings, *(f"best_{m}" for m in shown), *(f"final_{m}" for m in shown), "duration"]


def _cell(comp: Comparison, row: RunRow, column: str, missing: str) -> str:
    from tui.state import format_duration

    if column == "duration":
        return format_duration(row.info.duration_s, missing=missing)
    return comp.cell(row, column)


def _print_table(comp: Comparison, rows: list[RunRow], width: int | None, keep: str | None = None) -> None:
    """The table; with ``width`` (a terminal), columns give way until it fits: final values, further best values,
    then the run ids' dates, then settings from the last (never ``keep``, the sort column)."""
    columns = table_columns(comp)
    cells = {c: [_cell(comp, row, c, "-") for row in rows] for c in columns}
    size = lambda cols: sum(max(len(c), *(len(v) for v in cells[c])) + 2 for c in cols) - 2  # noqa: E731
    best = [c for c in columns if c.startswith("best_")]
    metrics = [c for c in [*(c for c in reversed(columns) if c.startswith("final_")), *best[1:][::-1]] if c != keep]
    settings = [c for c in reversed(columns[3 : 3 + len(comp.settings)]) if c != keep]
    left_out = [0, 0]
    for i, optional in enumerate((metrics, settings)):
        if i == 1 and width is not None and size(columns) > width:
            cells["run"] = [_dateless(v) for v in cells["run"]]  # the time and the name still tell runs apart
        while width is not None and optional and size(columns) > width:
            columns.remove(optional.pop(0))
            left_out[i] += 1
    widths = [max(len(c), *(len(v) for v in cells[c])) for c in columns]
    numeric = [i > 2 and all(_numberish(v) for v in cells[c]) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    print(line(columns))
    for i in range(len(rows)):
        print(line([cells[c][i] for c in columns]))
    notes = ["no setting differs between these runs"] * (not comp.settings and len(rows) > 1)
    gone = [f"{n} {noun}{'s' * (n > 1)}" for n, noun in zip(left_out, ("metric column", "setting")) if n]
    notes += [f"{' and '.join(gone)} left out to fit the terminal: --csv has them all"] * bool(gone)
    notes += [f"{row.id}: damaged ({'; '.join(row.damaged)}): shown with what could be read" for row in rows if row.damaged]
    if notes:
        print("\n" + "\n".join(notes))


def _dateless(run_id: str) -> str:
    """``20260101-000001-base`` -> ``000001-base``."""
    return run_id[9:] if run_id[:8].isdigit() and run_id[8:9] == "-" else run_id


def _numberish(text: str) -> bool:
    try:
        float(text.replace(":", "").replace("/", ""))
    except ValueError:
        return text in ("-", "?")
    return True


def _write_csv(comp: Comparison, rows: list[RunRow]) -> None:
    from engine.compare import format_value

    writer = csv.writer(sys.stdout, lineterminator="\n")
    columns = comp.columns()
    keys = ["run", "state", "epochs_done", "epochs", *comp.settings, *columns[3 + len(comp.settings):-1], "duration_s", "damaged"]
    writer.writerow(keys)
    for row in rows:
        info = row.info
        values = [comp.value(row, c) for c in columns[3 + len(comp.settings):-1]]
        settings = [format_value(comp.value(row, comp.names[p])) for p in comp.settings]  # whole, not cut to a cell
        duration = "" if info.duration_s is None else f"{info.duration_s:.3f}"
        writer.writerow([info.id, info.state, info.epochs_done, info.epochs or "", *settings,
                         *("" if v is None else repr(float(v)) for v in values), duration, "; ".join(row.damaged)])  # fmt: skip


def compare(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Runs: ids, parts of ids (every run matching) or run directories. Defaults to every run.", show_default=False)] = None,
    sort: Annotated[Optional[str], typer.Option("--sort", help="Sort by a column: a setting (lr, layers[0].units), a metric (val_loss: its best), final_val_loss, epochs, duration. Metrics best first, settings ascending.", show_default=False)] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the sort.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="One row per run to stdout as CSV, every metric best and final, settings by key path.")] = False,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Compare runs: exactly the settings that differ between them, with best and final metrics, epochs and duration."""
    from engine.compare import MISSING, UNKNOWN, SortKey, compare_runs, format_value
    from engine.errors import UserError, suggest

    root = runs_dir_or_default(runs_dir)
    try:
        paths = resolve_runs(list(runs or []), root)
    except UserError as exc:
        bad_input(exc)
    comp = compare_runs(paths)
    if not comp.rows:
        print(f"no runs in {root}/")
        return
    rows, column = comp.rows, None
    if sort is not None:
        try:
            column = comp.resolve(sort)
        except KeyError:
            same = {format_value(v) for v in (row.setting(sort) for row in comp.rows) if v not in (MISSING, UNKNOWN)}
            if len(same) != 1:
                choices = comp.metrics + comp.columns() + comp.settings
                bad_input(UserError(f"no column {sort!r}{suggest(sort, choices)}; columns: {', '.join(comp.columns())}",
                                    key="--sort"))  # fmt: skip
            print(f"every run has {sort} = {same.pop()}: nothing to sort by, so it is not a column", file=sys.stderr)
    if column is not None:
        rows = comp.sorted(SortKey(column, comp.default_descending(column) != reverse))
    elif reverse:
        rows = rows[::-1]
    if as_csv:
        _write_csv(comp, rows)
    else:
        _print_table(comp, rows, shutil.get_terminal_size().columns if sys.stdout.isatty() else None, column)
