"""Runs screen: every run in the runs folder; open one, overlay several, re-edit a config.

Enter on a live run (running, paused…) attaches the Train screen's dashboard to it,
with working controls; on an ended run it shows the recorded dashboard here.

A run's curves come from replaying its ``events.jsonl`` through the same reducer the
live dashboard uses. Selected runs (space) are overlaid: one validation-loss and one
metric curve per run on shared charts, each run named by the settings that set it apart.

The table is :mod:`engine.compare`'s (read in a worker): next to status, epochs and best
metrics, the settings that differ between the runs listed, as columns fitted to the
terminal (``tui.screens.runs_columns``). ``o``/``O`` or a click on a header sort it, ``/``
filters it by typing, ``x`` plots a metric against a setting (``o`` the next setting,
``m`` the next metric).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import ContentSwitcher, DataTable, Input, Static

from tui.screens.base import KwbScreen
from tui.screens.runs_columns import PADDING, filter_rows, fitted, metric_columns, scatter_points, sort_cycle
from tui.state import DashState, process_gone, reduce, replay
from tui.widgets.chart import SERIES_COLORS, Chart
from tui.widgets.chart_group import ChartGroup
from tui.widgets.dashboard import Dashboard, metric_names
from tui.widgets.footer import KeyFooter
from tui.widgets.nav import NavBar
from tui.widgets.scatter import Scatter

if TYPE_CHECKING:
    from engine.compare import Comparison, RunRow, SortKey
    from engine.runs import RunInfo
    from tui.app import KwbApp

__all__ = ["RunsScreen", "overlay_series"]


def overlay_series(states: dict[str, DashState], key: str, labels: dict[str, str] | None = None) -> tuple[tuple[str, Any], ...]:
    """One ``(label, points)`` series per run for the epoch-level curve ``key``; a run without a label is named by its id."""
    out = []
    for run_id, state in states.items():
        points = state.history.get(key) or state.history.get(key.removeprefix("val_"), ())
        out.append(((labels or {}).get(run_id, run_id), points))
    return tuple(out)


class RunsScreen(KwbScreen):
    """The run table; enter opens a run (attaches to a live one), space marks runs for the overlay (v)."""

    AUTO_FOCUS = "#run-table"

    DEFAULT_CSS = """
    RunsScreen #runs-filter { display: none; height: 3; }
    RunsScreen #scatter { height: 1fr; }
    """

    BINDINGS = [
        Binding("enter", "open", "Open", priority=True),  # over the table's own enter, so the footer lists it
        Binding("space", "mark", "Mark"),
        Binding("v", "overlay", "Overlay"),
        Binding("o", "sort", "Sort"),
        Binding("O", "reverse", "Reverse", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("x", "scatter", "Scatter"),
        Binding("b", "back", "Back", show=False),
        Binding("E", "edit_config", "Edit config"),
        Binding("e", "report", "Report", show=False),
        Binding("R", "reload", "Reload"),
        Binding(Dashboard.NEXT_CHART_KEY, "next_chart", "Next chart"),
        *Dashboard.CHART_BINDINGS,  # S, Y, z, arrows: a run's dashboard and the overlay read like the Train screen's (issue 15)
    ]
    """Open, mark for overlay, show the overlay (again: the table), sort by the next column (O: the other way),
    filter by typing, plot a metric against a setting (x; there o the next setting, m the next metric), edit the
    run's config, reload; Escape (``KwbScreen``) or b: from a run, the overlay or the plot back to the table;
    m: a run's next chart where several take turns in one cell (a small terminal)."""

    marked: reactive[frozenset[str]] = reactive(frozenset())
    """Run ids marked for the overlay."""

    class Loaded(Message):
        """The run list and its comparison were read from disk."""

        def __init__(self, runs: list[RunInfo], comparison: Comparison) -> None:
            super().__init__()
            self.runs = runs
            self.comparison = comparison

    def compose(self) -> ComposeResult:
        yield NavBar()
        with ContentSwitcher(initial="run-table", id="runs-switcher"):
            yield DataTable(id="run-table", cursor_type="row", zebra_stripes=True)
            yield Dashboard(id="run-dashboard")
            with Horizontal(id="overlay"):
                yield Chart("val_loss", id="overlay-loss")
                yield Chart("metric", id="overlay-metric")
            yield Scatter(id="scatter")
        yield Input(placeholder="filter: words, or setting=value (lr=0.01) · enter keeps it · esc clears",
                    id="runs-filter")  # fmt: skip
        yield Static(id="runs-hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(NavBar).current = "runs"
        self.runs: list[RunInfo] = []
        self.comparison: Comparison | None = None
        self.shown: list[RunRow] = []
        """The rows in the table, filtered and sorted, top to bottom."""
        self.sort_key: SortKey | None = None
        self.filter_text = ""
        self.hidden_columns = 0
        """Columns the table leaves out at this width."""
        self.plot = ("", "")
        """The scatter's setting (short name) and metric (``best_…`` column)."""
        self.states: dict[str, DashState] = {}
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    @property
    def kwb(self) -> KwbApp:
        return cast("KwbApp", self.app)

    @property
    def runs_dir(self) -> Path:
        app = self.kwb
        if app.runs_dir is not None:
            return Path(app.runs_dir)
        try:
            return Path(app.workspace.config().output.runs_dir)
        except Exception:
            return Path("runs")

    def action_reload(self) -> None:
        self._load(self.runs_dir)

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def _load(self, runs_dir: Path) -> None:
        from engine.compare import compare_runs
        from engine.runs import list_runs

        runs = list_runs(runs_dir)
        self.post_message(self.Loaded(runs, compare_runs(info.path for info in runs)))

    def on_runs_screen_loaded(self, message: "RunsScreen.Loaded") -> None:
        self.runs = message.runs
        self.comparison = message.comparison
        if self.sort_key is not None and self.sort_key.column not in message.comparison.columns():
            self.sort_key = None  # a setting that no longer differs
        self._draw()

    def on_resize(self) -> None:
        if self.comparison is not None:
            self._draw()

    def _rows(self) -> list[RunRow]:
        """The comparison's rows, sorted, then filtered by the words typed."""
        comp = self.comparison
        if comp is None:
            return []
        return filter_rows(comp, comp.sorted(self.sort_key) if self.sort_key is not None else comp.rows, self.filter_text)

    def _draw(self) -> None:
        table = self.query_one(DataTable)
        comp = self.comparison
        if comp is None:
            return
        current = self._current()
        self.shown = self._rows()
        width = (self.size.width or self.app.size.width) - (2 if len(self.shown) > max(1, table.size.height - 1) else 0)
        columns, self.hidden_columns = fitted(comp, self.shown, self.marked, self.sort_key, width)
        table.clear(columns=True)
        for column in columns:
            table.add_column(column.header, width=column.width - PADDING, key=column.key)
        for i in range(len(self.shown)):
            table.add_row(*(c.cells[i] for c in columns))
        self._mark_damaged(table)
        ids = [r.id for r in self.shown]
        if ids:
            table.move_cursor(row=ids.index(current.id) if current is not None and current.id in ids else 0)
        if self.query_one(ContentSwitcher).current != "overlay":
            self._hint(self.hidden_columns)

    def _hint(self, hidden: int) -> None:
        """One line under the table: how many runs where, marked, the filter, columns left out; what fits of it."""
        if not self.runs:
            parts = [f"no runs yet in {self.runs_dir}"]
        else:
            shown = f"{len(self.shown)} of {len(self.runs)}" if self.filter_text else str(len(self.runs))
            parts = [f"{shown} runs in {_short_path(self.runs_dir)}", f"{len(self.marked)} marked"]
            parts += [f"filter {self.filter_text!r}"] * bool(self.filter_text)
            parts += [f"+{hidden} column{'s' * (hidden > 1)} when wider"] * bool(hidden)
            parts.append("metrics: the best of each run")
        room = (self.size.width or self.app.size.width) - 2
        while len(parts) > 1 and len(" · ".join(parts)) > room:
            parts.pop()
        self.query_one("#runs-hint", Static).update(Text(" · ".join(parts), style="dim"))

    def _current(self) -> RunRow | None:
        if not self.shown:
            return None
        return self.shown[min(self.query_one(DataTable).cursor_row, len(self.shown) - 1)]

    def _state_of(self, info: RunInfo) -> DashState:
        from engine.recorded import whole_events

        if info.id not in self.states or info.live:  # a live run's curves grow: read them again
            state = replay(whole_events(info.path))
            if not info.live and state.active:  # its process died before it could say so (killed, power cut)
                state = reduce(state, process_gone(state, info.state))
            self.states[info.id] = state
        return self.states[info.id]

    def action_open(self) -> None:
        row = self._current()
        if row is None:
            return
        if row.info.live:
            # A live run opens on the Train screen, followed and controllable (kwb attach).
            self.kwb.attacher.attach(row.info.path)
            return
        self.query_one("#run-dashboard", Dashboard).state = self._state_of(row.info)
        self._show("run-dashboard")
        if row.info.damaged:  # what could be read is shown; say what could not
            self.notify(f"{row.id}: {row.info.damaged}", title="damaged run", severity="warning", timeout=8)

    def _mark_damaged(self, table: DataTable) -> None:
        """A damaged run (``RunInfo.damaged``: a file missing, cut off or garbage) reads "damaged" in its status cell."""
        from textual.coordinate import Coordinate
        from textual.widgets.data_table import ColumnDoesNotExist

        try:
            column = table.get_column_index("state")
        except ColumnDoesNotExist:  # the status column gave way on a narrow terminal
            return
        for i, row in enumerate(self.shown):
            cell = table.get_cell_at(Coordinate(i, column))
            if row.info.damaged and isinstance(cell, Text) and "damaged" not in cell.plain:
                table.update_cell_at(Coordinate(i, column), Text.assemble(cell, (" damaged", "red")))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The focused table takes enter for itself; selecting a row opens it.
        event.stop()
        self.action_open()

    def action_mark(self) -> None:
        row = self._current()
        if row is None:
            return
        self.marked = self.marked ^ {row.id}
        self._draw()

    def action_overlay(self) -> None:
        if self.query_one(ContentSwitcher).current == "overlay":
            self._to_table()  # v again: the overlay's way back
            return
        current = self._current()
        chosen = [r for r in self.shown if r.id in self.marked] or ([current] if current else [])
        if not chosen:
            return
        from engine.compare import compare_rows, run_labels

        labels = run_labels(compare_rows(chosen))  # what differs among just these runs names them
        states = {r.id: self._state_of(r.info) for r in chosen}
        self.query_one("#overlay-loss", Chart).series = overlay_series(states, "val_loss", labels)
        names = next((metric_names(s) for s in states.values() if metric_names(s)), [])
        metric = self.query_one("#overlay-metric", Chart)
        if names:
            metric.title = f"val_{names[0]}"
            metric.series = overlay_series(states, f"val_{names[0]}", labels)
        self._show("overlay")
        self._legend([labels[r.id] for r in chosen])

    def _legend(self, labels: list[str]) -> None:
        """Under the overlay, each run's label in its curve's colour (on two lines when one is not enough)."""
        line = Text()
        for i, label in enumerate(labels):
            line.append("  " if i else "")
            line.append(f"━ {label}".replace(" ", "\u00a0"), style=SERIES_COLORS[i % len(SERIES_COLORS)])  # no break inside
        hint = self.query_one("#runs-hint", Static)
        hint.styles.height = "auto"
        hint.styles.max_height = 3
        hint.update(line)

    def action_sort(self) -> None:
        """The next column to sort by (best first for a metric); in the plot, the next setting to plot against."""
        comp = self.comparison
        if comp is None:
            return
        if self.query_one(ContentSwitcher).current == "scatter":
            settings = [comp.names[p] for p in comp.settings]
            self._scatter(settings[(settings.index(self.plot[0]) + 1) % len(settings)], self.plot[1])
            return
        cycle = sort_cycle(comp)
        column = self.sort_key.column if self.sort_key is not None else None
        self._sort_by(cycle[(cycle.index(column) + 1) % len(cycle)] if column in cycle else cycle[0])

    def _sort_by(self, column: str, descending: bool | None = None) -> None:
        from engine.compare import SortKey

        assert self.comparison is not None
        if descending is None:
            descending = self.comparison.default_descending(column)
        self.sort_key = SortKey(column, descending)
        self._draw()

    def action_reverse(self) -> None:
        if self.sort_key is not None:
            self._sort_by(self.sort_key.column, not self.sort_key.descending)

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == "mark":
            return
        if self.sort_key is not None and self.sort_key.column == column:
            self.action_reverse()  # the sorted column clicked again: the other way round
        else:
            self._sort_by(column)

    def action_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._draw()

    @on(Input.Submitted, "#runs-filter")
    def _filter_kept(self) -> None:
        self.query_one(DataTable).focus()
        if not self.filter_text:
            self.query_one("#runs-filter", Input).display = False

    def _clear_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.value = ""  # Input.Changed redraws the table
        box.display = False
        self.filter_text = ""
        self._draw()
        self.query_one(DataTable).focus()

    def action_scatter(self) -> None:
        """Plot the best of a metric against a setting: the sort column (a setting or a metric) picks one of them."""
        comp = self.comparison
        if self.query_one(ContentSwitcher).current == "scatter":
            self._to_table()
            return
        if comp is None or not comp.settings:
            self.notify("no setting differs between these runs: nothing to plot a metric against", severity="warning")
            return
        settings = [comp.names[p] for p in comp.settings]
        metrics = [f"best_{m}" for m in metric_columns(comp)] or ["duration"]
        column = self.sort_key.column if self.sort_key is not None else ""
        self._scatter(column if column in settings else settings[0], column if column in metrics else metrics[0])

    def _scatter(self, setting: str, metric: str) -> None:
        comp = self.comparison
        assert comp is not None
        self.plot = (setting, metric)
        scatter = self.query_one(Scatter)
        scatter.points = scatter_points(comp, self.shown, setting, metric)
        scatter.names = (setting, metric.replace("_", " ", 1))
        self._show("scatter")

    def _charts_shown(self) -> Dashboard | ChartGroup | None:
        """What the chart keys read: a run's dashboard, the overlay's charts, or nothing (the table, the plot)."""
        switcher = self.query(ContentSwitcher)
        view = switcher.first().current if switcher else "run-table"
        if view == "run-dashboard":
            return self.query_one("#run-dashboard", Dashboard)
        return ChartGroup(self.query_one("#overlay")) if view == "overlay" else None

    def action_smooth(self) -> None:
        if (charts := self._charts_shown()) is not None:
            charts.cycle_smoothing()

    def action_log_scale(self) -> None:
        if (charts := self._charts_shown()) is not None:
            charts.toggle_log()

    def action_zoom(self) -> None:
        if (charts := self._charts_shown()) is not None:
            charts.toggle_zoom()
            self.refresh_bindings()

    def action_focus_chart(self, step: int) -> None:
        if (charts := self._charts_shown()) is not None:
            charts.focus_chart(step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in Dashboard.CHART_ACTIONS:
            return self._charts_shown() is not None
        if action in ("open", "leave_field") and isinstance(self.focused, Input):
            return False  # enter in the filter keeps it (Input.Submitted); escape clears it (back_within) at once
        if action not in ("next_chart", "sort", "reverse", "filter", "mark"):
            return super().check_action(action, parameters)
        switcher = self.query(ContentSwitcher)
        view = switcher.first().current if switcher else "run-table"  # asked before compose, too
        if action == "next_chart":
            if view == "scatter":
                return True
            return view == "run-dashboard" and self.query_one("#run-dashboard", Dashboard).pages > 1
        return view in ("run-table", "scatter") if action == "sort" else view == "run-table"

    def action_next_chart(self) -> None:
        if self.query_one(ContentSwitcher).current == "scatter" and self.comparison is not None:
            metrics = [f"best_{m}" for m in metric_columns(self.comparison)] or ["duration"]
            index = metrics.index(self.plot[1]) + 1 if self.plot[1] in metrics else 0
            self._scatter(self.plot[0], metrics[index % len(metrics)])
            return
        self.query_one("#run-dashboard", Dashboard).next_chart()

    def back_within(self) -> Callable[[], None] | None:
        """A zoomed chart goes back to its charts; a run's dashboard, the overlay or the plot to the run table; a filter is cleared."""
        charts = self._charts_shown()
        if charts is not None and charts.zoomed is not None:
            return self.action_zoom
        if self.query_one(ContentSwitcher).current != "run-table":
            return self._to_table
        return self._clear_filter if self.query_one("#runs-filter", Input).display else None

    def _show(self, view: str) -> None:
        self.query_one(ContentSwitcher).current = view
        self.refresh_bindings()  # the footer shows the way back
        if view != "overlay":  # the overlay's legend line gives the hint back
            self.query_one("#runs-hint", Static).styles.height = 1
            self._hint(self.hidden_columns)

    def _to_table(self) -> None:
        self._show("run-table")
        self.query_one(DataTable).focus()

    def action_report(self) -> None:
        """The highlighted run's evaluation report (report.json), as a dialog."""
        row = self._current()
        if row is not None:
            from tui.screens.report import ReportScreen, load_report

            self.app.push_screen(ReportScreen(load_report(row.info.path), row.id))

    def action_edit_config(self) -> None:
        """Load the run's resolved config into the builder, to change it and run again."""
        row = self._current()
        if row is None:
            return
        info = row.info
        from engine.runs import script_run

        if (script := script_run(info.run_dir)) is not None:
            self.notify(f"{info.id} recorded a fit of {script}: it has no config to edit; change the script and "
                        "run it again with kwb run", title="a script run", severity="warning", timeout=8)  # fmt: skip
            return
        self.kwb.saver.open_run_config(info.run_dir.config, info.id)  # asks first about unsaved edits


def _short_path(path: object) -> str:
    """The runs folder relative to the working directory when it is inside it (shorter, and the same on every clone)."""
    text = str(path)
    try:
        rel = os.path.relpath(text)
    except ValueError:
        return text
    return text if rel.startswith("..") else rel
