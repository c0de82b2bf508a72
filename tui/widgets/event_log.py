"""The dashboard's event log: LR changes, checkpoints, pauses, early stopping, errors."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget

from tui.state import LogLine, format_duration
from tui.widgets.cells import RepaintBudget, changed_regions, sent_cells

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
    """The newest lines of the log that fit, oldest at the top (drawn from state, so replays match).

    New lines show at most once a second (the first at once), repainting only the rows
    that changed; once the log scrolls every row changes, and a run of short epochs adds
    lines several times a second, so then it repaints less often (``CELLS_PER_S``).
    """

    DEFAULT_CSS = """
    EventLog { height: 1fr; border: round $panel; }
    """

    MIN_INTERVAL = 1.0
    """Least seconds between two repaints while lines keep arriving."""
    CELLS_PER_S = 250
    """Cells a second, on average, that the log may send while lines keep arriving."""

    lines: var[tuple[LogLine, ...]] = var(())
    """Every log line kept by the reducer; only the newest that fit are drawn."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list[Text] = []
        self._budget = RepaintBudget(self.MIN_INTERVAL, self.CELLS_PER_S)
        self._due: Timer | None = None

    def on_mount(self) -> None:
        self.border_title = "[b]events[/b]"

    def watch_lines(self) -> None:
        if not self.is_mounted or self._due is not None:
            return
        wait = self._budget.wait()
        if wait <= 0 or not self._rows:
            self._repaint()
        else:
            self._due = self.set_timer(wait, self._repaint_due)

    def _repaint_due(self) -> None:
        self._due = None
        self._repaint()

    def _repaint(self) -> None:
        rows = self._draw_rows()
        regions = changed_regions(self._rows, rows, self.content_size.width) if self._rows else None
        if regions is None:
            self.refresh()
            self._budget.spend(self.content_size.area)
        else:
            if regions:
                self.refresh(*regions)
            self._budget.spend(sent_cells(regions))
        self._rows = rows

    def _draw_rows(self) -> list[Text]:
        height = max(1, self.content_size.height)
        width = max(10, self.content_size.width)
        rows = []
        for line in self.lines[-height:]:
            row = Text(f"{format_duration(line.at):>6} ", style="dim", no_wrap=True)
            row.append(line.text, style=KIND_STYLES.get(line.kind, ""))
            row.truncate(width, overflow="ellipsis")
            rows.append(row)
        return rows

    def on_resize(self) -> None:
        self._rows = []

    def render(self) -> Text:
        self._rows = self._draw_rows()
        return Text("\n", no_wrap=True, overflow="ellipsis").join(self._rows)
