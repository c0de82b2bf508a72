"""The dashboard's event log: LR changes, checkpoints, pauses, early stopping, errors."""

from __future__ import annotations

import math
import time

from rich.text import Text
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget

from tui.state import LogLine, format_duration
from tui.widgets.cells import changed_regions

__all__ = ["EventLog", "KIND_STYLES", "fold_best_checkpoints"]

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


BEST_CHECKPOINT = "best checkpoint"
"""How the reducer's line for a checkpoint kept because it is the best so far begins."""


def fold_best_checkpoints(lines: tuple[LogLine, ...]) -> tuple[LogLine, ...]:
    """``lines`` with only the latest best-checkpoint line kept, saying how many there were.

    A run that improves every epoch saves a best checkpoint every epoch; one line each
    (``best checkpoint at epoch N``) filled the log and pushed out what mattered. The
    latest stays, in its place, as ``best checkpoint at epoch 7 (×5): …``. The other lines
    are the same objects as in ``lines`` (the log finds its page by them).
    """
    best = [i for i, line in enumerate(lines) if line.kind == "checkpoint" and line.text.startswith(BEST_CHECKPOINT)]
    if len(best) < 2:
        return lines
    last = lines[best[-1]]
    head, sep, rest = last.text.partition(":")
    folded = LogLine(last.at, last.kind, f"{head} (×{len(best)}){sep}{rest}")
    dropped = set(best[:-1])
    return tuple(folded if i == best[-1] else line for i, line in enumerate(lines) if i not in dropped)


class EventLog(Widget):
    """The run's log lines, oldest at the top, each shown as soon as the state has it (drawn from state, so replays match).

    A log that scrolls rewrites every row for each new line, which is why it used to
    wait seconds between repaints (a repaint budget) and lagged the run. This log turns
    pages instead: a new line goes in the first empty row, and only that row is sent;
    once the log is full the page turns, keeping the newest third of it at the top
    (``KEEP``). A line then costs one row, a page turn the log's area, and turns come at
    most every ``TURN_INTERVAL`` seconds (only a flood of lines waits for one).
    """

    DEFAULT_CSS = """
    EventLog { height: 1fr; border: round $panel; }
    """

    TURN_INTERVAL = 1.0
    """Least seconds between two page turns (each repaints the whole log)."""
    KEEP = 1 / 3
    """The share of a full page that stays on screen, at the top, when the page turns."""

    lines: var[tuple[LogLine, ...]] = var(())
    """Every log line kept by the reducer (best checkpoints folded: ``fold_best_checkpoints``); the page on screen shows the newest."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._page: tuple[LogLine, ...] = ()
        """The lines on screen, top to bottom."""
        self._rows: list[Text] = []
        """Their drawing, one ``Text`` per row of the log (blank rows included)."""
        self._turned = -math.inf
        self._due: Timer | None = None

    def on_mount(self) -> None:
        self.border_title = "[b]events[/b]"

    def validate_lines(self, lines: tuple[LogLine, ...]) -> tuple[LogLine, ...]:
        return fold_best_checkpoints(lines)

    def watch_lines(self) -> None:
        if self.is_mounted and self._due is None:
            self._show()

    def _show(self) -> None:
        """Put the newest lines on screen, sending only the rows that changed."""
        self._due = None
        height = max(1, self.content_size.height)
        page, kind = self._next_page(self.lines, height)
        if kind == "turn":
            wait = self._turned + self.TURN_INTERVAL - time.monotonic()
            if wait > 0:
                self._due = self.set_timer(wait, self._show)
                return
            self._turned = time.monotonic()
        self._page = page
        rows = self._draw_rows(page)
        regions = changed_regions(self._rows, rows, self.content_size.width) if kind == "add" and self._rows else None
        if regions is None:
            self.refresh()
        elif regions:
            self.refresh(*regions)
        self._rows = rows

    def _next_page(self, lines: tuple[LogLine, ...], height: int) -> tuple[tuple[LogLine, ...], str]:
        """The lines to show next, and how they differ from the page on screen.

        ``add``: lines added below (or none); ``turn``: the page turns; ``new``: other lines (a new run, a replay).
        """
        top = self._page[0] if self._page else None
        # The page's first line, by identity (the reducer appends; a new run or a replay brings new lines),
        # else by value (a folded best-checkpoint line is made anew when it changes).
        start = next((i for i in range(len(lines) - 1, -1, -1) if lines[i] is top), None)
        if start is None and top is not None:
            start = next((i for i in range(len(lines) - 1, -1, -1) if lines[i] == top), None)
        if start is None:
            return lines[-height:], "new"
        if len(lines) - start <= height:
            return lines[start:], "add"
        new = len(lines) - start - len(self._page)
        return lines[-min(height, max(new, math.ceil(height * self.KEEP))):], "turn"

    def _draw_rows(self, page: tuple[LogLine, ...]) -> list[Text]:
        height = max(1, self.content_size.height)
        width = max(10, self.content_size.width)
        rows = []
        for line in page[-height:]:
            row = Text(f"{format_duration(line.at):>6} ", style="dim", no_wrap=True)
            row.append(line.text, style=KIND_STYLES.get(line.kind, ""))
            row.truncate(width, overflow="ellipsis")
            rows.append(row)
        return rows + [Text("")] * (height - len(rows))

    def on_resize(self) -> None:
        self._rows = []
        self._page = self.lines[-max(1, self.content_size.height):]

    def render(self) -> Text:
        if not self._page and self.lines:  # first drawn before the lines were watched
            self._page = self.lines[-max(1, self.content_size.height):]
        self._rows = self._draw_rows(self._page)
        return Text("\n", no_wrap=True, overflow="ellipsis").join(self._rows)
