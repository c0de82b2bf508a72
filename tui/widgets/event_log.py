"""The dashboard's event log: LR changes, checkpoints, pauses, early stopping, errors."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.state import LogLine, format_duration

__all__ = ["EventLog", "KIND_STYLES"]

KIND_STYLES = {
    "info": "",
    "lr": "magenta",
    "checkpoint": "cyan",
    "pause": "yellow",
    "stop": "bold yellow",
    "end": "bold green",
    "error": "bold red",
}
"""Rich style of each kind of log line."""


class EventLog(Widget):
    """The newest lines of the log that fit, oldest at the top (drawn from state, so replays match)."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; border: round $panel; }
    """

    lines: reactive[tuple[LogLine, ...]] = reactive(())
    """Every log line kept by the reducer; only the newest that fit are drawn."""

    def on_mount(self) -> None:
        self.border_title = "[b]events[/b]"

    def render(self) -> Text:
        height = max(1, self.content_size.height)
        width = max(10, self.content_size.width)
        out = Text(no_wrap=True, overflow="ellipsis")
        shown = self.lines[-height:]
        for i, line in enumerate(shown):
            row = Text(f"{format_duration(line.at):>6} ", style="dim")
            row.append(line.text, style=KIND_STYLES.get(line.kind, ""))
            row.truncate(width, overflow="ellipsis")
            out.append_text(row)
            if i < len(shown) - 1:
                out.append("\n")
        return out
