"""Runs screen: every run in the runs folder; open one, overlay several, re-edit a config.

Enter on a live run (running, paused…) attaches the Train screen's dashboard to it,
with working controls; on an ended run it shows the recorded dashboard here.

A run's curves come from replaying its ``events.jsonl`` through the same reducer the
live dashboard uses. Selected runs (space) are overlaid: one validation-loss and one
metric curve per run on shared charts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import ContentSwitcher, DataTable, Static

from tui.families import headline
from tui.screens.base import KwbScreen
from tui.state import DashState, format_duration, replay
from tui.widgets.chart import Chart
from tui.widgets.dashboard import Dashboard, metric_names
from tui.widgets.footer import KeyFooter
from tui.widgets.nav import NavBar
from tui.widgets.run_header import STATUS_STYLES

if TYPE_CHECKING:
    from engine.runs import RunInfo
    from tui.app import KwbApp

__all__ = ["RunsScreen", "overlay_series"]


def overlay_series(states: dict[str, DashState], key: str) -> tuple[tuple[str, Any], ...]:
    """One ``(run id, points)`` series per run for the epoch-level curve ``key``."""
    out = []
    for run_id, state in states.items():
        points = state.history.get(key) or state.history.get(key.removeprefix("val_"), ())
        out.append((run_id[-24:], points))
    return tuple(out)


class RunsScreen(KwbScreen):
    """The run table; enter opens a run (attaches to a live one), space marks runs for the overlay (v)."""

    BINDINGS = [
        Binding("enter", "open", "Open", priority=True),  # over the table's own enter, so the footer lists it
        Binding("space", "mark", "Mark"),
        Binding("v", "overlay", "Overlay"),
        Binding("b", "back", "Back", show=False),
        Binding("E", "edit_config", "Edit config"),
        Binding("R", "reload", "Reload"),
        Binding(Dashboard.NEXT_CHART_KEY, "next_chart", "Next chart"),
    ]
    """Open, mark for overlay, show the overlay (again: the table), edit the run's config, reload;
    Escape (``KwbScreen``) or b: from a run or the overlay back to the table; m: a run's next chart
    where several take turns in one cell (a small terminal)."""

    marked: reactive[frozenset[str]] = reactive(frozenset())
    """Run ids marked for the overlay."""

    class Loaded(Message):
        """The run list was read from disk."""

        def __init__(self, runs: list[RunInfo]) -> None:
            super().__init__()
            self.runs = runs

    def compose(self) -> ComposeResult:
        yield NavBar()
        with ContentSwitcher(initial="run-table", id="runs-switcher"):
            yield DataTable(id="run-table", cursor_type="row", zebra_stripes=True)
            yield Dashboard(id="run-dashboard")
            with Horizontal(id="overlay"):
                yield Chart("val_loss", id="overlay-loss")
                yield Chart("metric", id="overlay-metric")
        yield Static(id="runs-hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(NavBar).current = "runs"
        self.query_one(DataTable).add_columns(" ", "run", "status", "epochs", "best", "duration")
        self.runs: list[RunInfo] = []
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
        from engine.runs import list_runs

        self.post_message(self.Loaded(list_runs(runs_dir)))

    def on_runs_screen_loaded(self, message: "RunsScreen.Loaded") -> None:
        self.runs = message.runs
        self._draw()

    def _draw(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for info in self.runs:
            val = list(headline(info.best).items())  # several outputs: val_loss first, then each output's metric
            best = " ".join(f"{k}={v:.4g}" for k, v in val[:2])
            epochs = f"{info.epochs_done}/{info.epochs}" if info.epochs else str(info.epochs_done)
            table.add_row(
                "●" if info.id in self.marked else " ",
                info.id,
                Text(info.state, style=STATUS_STYLES.get(info.state, "")),
                epochs,
                best,
                format_duration(info.duration_s),
            )
        if self.runs:
            table.move_cursor(row=min(row, len(self.runs) - 1))
        hint = "no runs yet in " + str(self.runs_dir) if not self.runs else \
            f"{len(self.runs)} runs in {_short_path(self.runs_dir)} · {len(self.marked)} marked"
        self.query_one("#runs-hint", Static).update(Text(hint, style="dim"))

    def _current(self) -> RunInfo | None:
        if not self.runs:
            return None
        return self.runs[min(self.query_one(DataTable).cursor_row, len(self.runs) - 1)]

    def _state_of(self, info: RunInfo) -> DashState:
        from engine.runs import read_events

        if info.id not in self.states or info.live:  # a live run's curves grow: read them again
            self.states[info.id] = replay(read_events(info.path))
        return self.states[info.id]

    def action_open(self) -> None:
        info = self._current()
        if info is None:
            return
        if info.live:
            # A live run opens on the Train screen, followed and controllable (kwb attach).
            self.kwb.attacher.attach(info.path)
            return
        self.query_one("#run-dashboard", Dashboard).state = self._state_of(info)
        self.query_one(ContentSwitcher).current = "run-dashboard"
        self.refresh_bindings()  # the footer shows the way back

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The focused table takes enter for itself; selecting a row opens it.
        event.stop()
        self.action_open()

    def action_mark(self) -> None:
        info = self._current()
        if info is None:
            return
        self.marked = self.marked ^ {info.id}
        self._draw()

    def action_overlay(self) -> None:
        if self.query_one(ContentSwitcher).current == "overlay":
            self._to_table()  # v again: the overlay's way back
            return
        chosen = [i for i in self.runs if i.id in self.marked] or ([self._current()] if self._current() else [])
        if not chosen:
            return
        states = {i.id: self._state_of(i) for i in chosen}
        self.query_one("#overlay-loss", Chart).series = overlay_series(states, "val_loss")
        names = next((metric_names(s) for s in states.values() if metric_names(s)), [])
        metric = self.query_one("#overlay-metric", Chart)
        if names:
            metric.title = f"val_{names[0]}"
            metric.series = overlay_series(states, f"val_{names[0]}")
        self.query_one(ContentSwitcher).current = "overlay"
        self.refresh_bindings()  # the footer shows the way back

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_chart":
            shown = self.query_one(ContentSwitcher).current == "run-dashboard"
            return shown and self.query_one("#run-dashboard", Dashboard).pages > 1
        return super().check_action(action, parameters)

    def action_next_chart(self) -> None:
        self.query_one("#run-dashboard", Dashboard).next_chart()

    def back_within(self) -> Callable[[], None] | None:
        """A run's dashboard or the overlay go back to the run table."""
        return None if self.query_one(ContentSwitcher).current == "run-table" else self._to_table

    def _to_table(self) -> None:
        self.query_one(ContentSwitcher).current = "run-table"
        self.query_one(DataTable).focus()
        self.refresh_bindings()

    def action_edit_config(self) -> None:
        """Load the run's resolved config into the builder, to change it and run again."""
        info = self._current()
        if info is None:
            return
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
