"""Train screen: compile/fit/callback settings, and the live dashboard of the current run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher

from tui.screens.base import KwbScreen
from tui.state import DashState
from tui.widgets.dashboard import Dashboard
from tui.widgets.footer import KeyFooter
from tui.widgets.nav import NavBar
from tui.widgets.train_settings import TrainSettings

if TYPE_CHECKING:
    from tui.app import KwbApp

__all__ = ["TrainScreen"]


class TrainScreen(KwbScreen):
    """The dashboard, with the training settings one key away (``o``)."""

    AUTO_FOCUS = ""
    """Nothing focused on arrival: the charts take the focus from the arrow keys or Tab, not by default."""

    BINDINGS = [
        Binding("o", "toggle_settings", "Settings"),
        Binding("e", "report", "Report", show=False),
        Binding("f", "lr_find", "LR finder", show=False),
        Binding(Dashboard.NEXT_CHART_KEY, "next_chart", "Next chart"),
        *Dashboard.CHART_BINDINGS,
    ]
    """o flips between the dashboard and the compile/fit/callback settings; m shows the dashboard's
    next chart where several take turns in one cell (a small terminal); S, Y, z and the arrows read
    the charts (``Dashboard.CHART_BINDINGS``; S here smooths, the app's "Save as…" is in the palette)."""

    def compose(self) -> ComposeResult:
        yield NavBar()
        with ContentSwitcher(initial="dashboard"):
            yield Dashboard(id="dashboard", live=True)
            # TrainSettings (~80 widgets) is mounted on the first ``o``: every widget on a
            # screen is restyled each time the screen is shown, so it would slow ``3``.
        yield KeyFooter(app_first=True)  # the run keys first: they steer what this screen shows

    def on_mount(self) -> None:
        self.query_one(NavBar).current = "train"
        self.watch(self.app, "dash", self._on_dash)

    def _on_dash(self, state: DashState) -> None:
        self.query_one(Dashboard).state = state
        if state.active and self.query_one(ContentSwitcher).current != "dashboard":
            self._to_dashboard()  # focus leaves the hidden settings too

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_chart":
            return self._on_dashboard() and self.query_one(Dashboard).pages > 1
        if action in Dashboard.CHART_ACTIONS:
            return self._on_dashboard()
        return super().check_action(action, parameters)

    def _on_dashboard(self) -> bool:
        """The dashboard is shown (asked before the screen is composed too: not yet)."""
        switcher = self.query(ContentSwitcher)
        return bool(switcher) and switcher.first().current == "dashboard"

    def action_next_chart(self) -> None:
        self.query_one(Dashboard).next_chart()

    def action_smooth(self) -> None:
        self.query_one(Dashboard).cycle_smoothing()

    def action_log_scale(self) -> None:
        self.query_one(Dashboard).toggle_log()

    def action_zoom(self) -> None:
        self.query_one(Dashboard).toggle_zoom()
        self.refresh_bindings()

    def action_focus_chart(self, step: int) -> None:
        self.query_one(Dashboard).focus_chart(step)

    def action_report(self) -> None:
        """The evaluation report of the run on the dashboard (written when it ended), as a dialog."""
        from tui.screens.report import ReportScreen, load_report

        dash = cast("KwbApp", self.app).dash
        run_dir = dash.run_dir
        if run_dir is None or dash.active:
            self.notify("the report is written when a run ends", title="no report yet", severity="warning")
            return
        self.app.push_screen(ReportScreen(load_report(run_dir), Path(run_dir).name))

    def action_lr_find(self) -> None:
        """The learning-rate range test on the config being edited; enter in the dialog writes the suggestion into it."""
        from engine.errors import ConfigError
        from tui.screens.lr_find import LrFindScreen

        app = cast("KwbApp", self.app)
        if app.dash.active:
            self.notify("a run is in progress: the range test runs between runs", severity="warning")
            return
        try:
            cfg = app.workspace.config()
        except ConfigError as exc:
            self.notify(str(exc), title="config", severity="error", timeout=8)
            return

        def apply(value: float | None) -> None:
            if value is not None:
                app.workspace.set("compile.optimizer.learning_rate", value)
                self.notify(f"compile.optimizer.learning_rate: {value:g} (ctrl+s saves it)", title="learning rate")

        app.push_screen(LrFindScreen(cfg), apply)

    def back_within(self) -> Callable[[], None] | None:
        """The settings go back to the dashboard; a zoomed chart goes back to the layout."""
        if self.query_one(ContentSwitcher).current != "dashboard":
            return self._to_dashboard
        dashboard = self.query_one(Dashboard)
        return self.action_zoom if dashboard.zoomed is not None else None

    def _to_dashboard(self) -> None:
        self.query_one(ContentSwitcher).current = "dashboard"
        self.set_focus(None)
        self.refresh_bindings()

    async def action_toggle_settings(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        if not switcher.query(TrainSettings):
            await switcher.mount(TrainSettings(id="settings"))
        switcher.current = "settings" if switcher.current == "dashboard" else "dashboard"
        if switcher.current == "settings":
            self.query_one(TrainSettings).focus_first()
        else:
            self.set_focus(None)
        self.refresh_bindings()
