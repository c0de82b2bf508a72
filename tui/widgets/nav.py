"""The one-line bar at the top of every screen: screen tabs, config file (with a mark when it has unsaved edits) and run status."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.state import DashState
from tui.widgets.run_header import STATUS_STYLES

if TYPE_CHECKING:
    from tui.app import KwbApp
    from tui.workspace import FileStatus

__all__ = ["NavBar", "SCREENS"]

SCREENS = (("1", "build", "Build"), ("2", "data", "Data"), ("3", "train", "Train"), ("4", "runs", "Runs"))
"""(key, mode, label) of each screen, in tab order."""


class NavBar(Widget):
    """Which screen is showing, which config is open and what the run is doing."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; }
    """

    current: reactive[str] = reactive("build")
    """The mode name of the screen this bar sits on."""
    status: reactive[str] = reactive("idle")
    """The run's status, mirrored from the app's dashboard state."""
    config_name: reactive[str] = reactive("")
    """The config file's name (or where the config came from)."""
    modified: reactive[bool] = reactive(False)
    """The config has edits not saved to its file: shown as ``long.yaml •``."""
    load_error: reactive[str] = reactive("")
    """Why the config file could not be loaded, or is not valid: shown after its name, in the error colour."""

    def on_mount(self) -> None:
        app = cast("KwbApp", self.app)
        self.watch(app, "dash", self._on_dash)
        self.watch(app, "file_status", self._on_file)

    def _on_dash(self, state: DashState) -> None:
        self.status = state.status

    def _on_file(self, status: FileStatus) -> None:
        self.config_name, self.modified, self.load_error = status.label, status.modified, status.error or ""

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        for key, mode, label in SCREENS:
            # A click on a screen's name switches to it, as its key does.
            style = Style(bold=True, reverse=True) if mode == self.current else Style()
            out.append(f" {key} {label} ", style=style + Style.from_meta({"@click": f"app.screen({mode!r})"}))
        out.append("  ")
        out.append(self.config_name, style="italic")
        if self.modified:
            out.append(" •", style="bold yellow")
        if self.load_error:
            out.append(f" ✗ {self.load_error}", style="bold red")
        if self.status != "idle":
            right = Text(f" {self.status} ", style=STATUS_STYLES.get(self.status, ""))
            room = self.size.width - right.cell_len - 1
            if out.cell_len > room > 0:  # a long load error gives way to the run's status
                out.truncate(room, overflow="ellipsis")
            pad = max(1, self.size.width - out.cell_len - right.cell_len)
            out.append(" " * pad)
            out.append_text(right)
        return out

