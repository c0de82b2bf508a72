"""A line chart widget: plotext draws it, the widget turns plotext's ANSI into Rich text.

``textual-plotext`` is not used (it pins plotext<6); plotext 6's figure is built at the
widget's size and its string output parsed with ``Text.from_ansi``.

A live chart is built for people on the other end of an SSH link, so it is frugal
with the terminal: it repaints only the cells that changed (``tui.widgets.cells``), at
most once a second and less often after a big change (``Chart.MIN_INTERVAL``,
``Chart.CELLS_PER_S``; the first data shows at once), and not while its screen is
hidden. The axes snap to round limits (``nice_range``, in ``tui.widgets.chart_render``
with the rest of the drawing), so a growing curve leaves the rest of the plot as it was
instead of rescaling it on every point.

Reading aids: ``smoothing`` draws TensorBoard's debiased EMA (``engine.smoothing``) over
the raw curve, which stays faint behind it; ``log_y`` a log scale; ``marks`` small ticks on
the time axis (learning-rate changes, manual checkpoints). The legend
(``tui.widgets.chart_legend``) names each series in its line colour with its latest and
best value. A chart takes the focus (Tab, arrows on the dashboard) so ``z`` can zoom it.
"""

from __future__ import annotations

from rich.text import Text
from textual.markup import escape
from textual.reactive import reactive, var
from textual.timer import Timer
from textual.widget import Widget

from engine.smoothing import weight_label
from tui.widgets.cells import RepaintBudget, changed_regions, sent_cells
from tui.widgets.chart_legend import LegendEntry, fit_legend
from tui.widgets.chart_render import (
    SERIES_COLORS,
    Mark,
    Series,
    epoch_axis_end,
    nice_range,
    nice_ticks,
    render_chart,
)

__all__ = ["SERIES_COLORS", "Chart", "Mark", "Series", "epoch_axis_end", "nice_range", "nice_ticks", "render_chart"]
"""The drawing's names (``tui.widgets.chart_render``) stay importable from here."""


class Chart(Widget, can_focus=True):
    """One chart of one or more series; title and legend on the border (the legend goes on along the bottom)."""

    DEFAULT_CSS = """
    Chart { height: 1fr; min-height: 6; border: round $panel; padding: 0; border-subtitle-align: left; }
    Chart { border-title-color: $foreground; border-subtitle-color: $foreground; }
    Chart:focus { border: round $accent; }
    """

    MIN_INTERVAL = 1.0
    """Least seconds between two redraws while the data keeps changing."""
    CELLS_PER_S = 250
    """Cells a second, on average, that a changing chart may send: the tip of a curve
    moves every second, a whole 60×17 chart redrawn waits 4 s for the next redraw."""

    series: var[tuple[Series, ...]] = var(())
    """The curves: ``(label, ((x, y), ...))`` each, drawn in ``SERIES_COLORS`` order."""
    legend: var[tuple[float | None, ...] | None] = var(None)
    """The latest value shown after each label (None: no value); no legend shows each series' last point."""
    best: var[tuple[float | None, ...] | None] = var(None)
    """The best value shown after each latest one (the caller knows which way is better); None: none."""
    x_limits: var[tuple[float, float] | None] = var(None)
    """The x axis' extent (it still widens to fit every point); None fits round limits to the data."""
    marks: var[tuple[Mark, ...]] = var(())
    """Glyphs on the time axis: learning-rate changes, manual checkpoints."""
    log_y: reactive[bool] = reactive(False)
    """Draw the y axis on a log scale (the learning-rate chart; ``Y`` for the loss chart)."""
    smoothing: reactive[float] = reactive(0.0)
    """The debiased EMA's weight (``S``); 0: off. The title says it (``smooth 0.9``)."""

    def __init__(self, title: str, *, log_y: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        """Shown at the top left of the border, before the legend."""
        self.set_reactive(Chart.log_y, log_y)
        self._log_by_nature = log_y
        """Drawn on a log scale from the start (the learning rate): the title does not say so."""
        self._key: tuple | None = None
        """What the drawing on screen shows: (series, x_limits, marks, width, height, log_y, smoothing)."""
        self._drawing = Text("")
        self._lines: list[Text] = []
        self._budget = RepaintBudget(self.MIN_INTERVAL, self.CELLS_PER_S)
        self._due: Timer | None = None
        self._title = ""
        self._subtitle = ""
        self._note = ""

    @property
    def note(self) -> str:
        """Shown at the bottom right of the border (the dashboard's page hint); empty: nothing."""
        return self._note

    @note.setter
    def note(self, text: str) -> None:
        self._note = text
        self._update_title()

    def on_mount(self) -> None:
        self._update_title()

    def on_resize(self) -> None:
        self._update_title()  # a legend of many series wraps at the chart's width

    def plot(
        self,
        series: tuple[Series, ...],
        legend: tuple[float | None, ...] | None = None,
        x_limits: tuple[float, float] | None = None,
        *,
        best: tuple[float | None, ...] | None = None,
        marks: tuple[Mark, ...] = (),
    ) -> None:
        """Set ``series``, ``legend``, ``x_limits``, ``best`` and ``marks`` together (one redraw, not five)."""
        self.set_reactive(Chart.series, series)
        self.set_reactive(Chart.legend, legend)
        self.set_reactive(Chart.best, best)
        self.set_reactive(Chart.x_limits, x_limits)
        self.set_reactive(Chart.marks, marks)
        self._schedule()

    def watch_series(self) -> None:
        self._schedule()

    def watch_legend(self) -> None:
        self._schedule()

    def watch_x_limits(self) -> None:
        self._schedule()

    def watch_log_y(self) -> None:
        self._update_title()  # a reader's key: redrawn at once (``render``), whatever the budget

    def watch_smoothing(self) -> None:
        self._update_title()

    def _schedule(self) -> None:
        """Redraw now if the last redraw is old enough (or showed no data), else once it is."""
        if not self.is_mounted or self._due is not None:
            return
        wait = self._budget.wait()
        if wait <= 0 or not self._had_data():
            self._redraw()
        else:
            self._due = self.set_timer(wait, self._redraw_due)

    def _had_data(self) -> bool:
        return self._key is not None and any(points for _label, points in self._key[0])

    def _redraw_due(self) -> None:
        self._due = None
        self._redraw()

    def _current_key(self) -> tuple:
        width, height = self.content_size
        return (self.series, self.x_limits, self.marks, width, height, self.log_y, self.smoothing)

    @staticmethod
    def _same_frame(a: tuple, b: tuple) -> bool:
        """Same size, scale and smoothing: the drawings can be compared cell by cell."""
        return a[3:] == b[3:]

    def _redraw(self) -> None:
        """Bring title and drawing up to date, repainting only the cells that changed."""
        title_changed = self._update_title()  # a new title repaints the whole chart
        if not self.screen.is_current:
            return  # drawn by ``render`` when its screen is shown again
        key = self._current_key()
        width, height = key[3], key[4]
        if key == self._key and not title_changed:
            return
        old_key, old_lines, had_data = self._key, self._lines, self._had_data()
        if key != self._key:
            self._build(key)
        regions = None
        if not title_changed and had_data and self._had_data() and old_key is not None and self._same_frame(old_key, key):
            regions = changed_regions(old_lines, self._lines, width)
        if regions is None:
            self.refresh()
            self._budget.spend(width * height)
        else:
            if regions:
                self.refresh(*regions)
            self._budget.spend(sent_cells(regions))

    def _build(self, key: tuple) -> None:
        series, x_limits, marks, width, height, log_y, smoothing = key
        if width < 10 or height < 3:
            drawing = Text("")
        elif not any(points for _label, points in series):
            drawing = Text("waiting for data…", style="dim", justify="center")
        else:
            try:
                ansi = render_chart(series, width, height, log_y, x_limits, smoothing, marks)
                drawing = Text.from_ansi(ansi, no_wrap=True)
            except Exception as exc:  # a plotting bug must never take the app down
                drawing = Text(f"cannot draw this chart: {exc!r}", style="red")
        self._drawing, self._key = drawing, key
        self._lines = drawing.split("\n", allow_blank=True)

    def legend_entries(self) -> list[LegendEntry]:
        """Each series' legend entry: its name, colour, latest value (its last point without a ``legend``) and best."""
        entries = []
        legend, best = self.legend, self.best
        for i, (label, points) in enumerate(self.series):
            latest = legend[i] if legend is not None and i < len(legend) else (points[-1][1] if points else None)
            entries.append(LegendEntry(label, SERIES_COLORS[i % len(SERIES_COLORS)], latest,
                                       best[i] if best is not None and i < len(best) else None))  # fmt: skip
        return entries

    def heading(self) -> tuple[str, str]:
        """The title as markup: the chart's name, and how it is drawn (``smooth 0.9``, ``log``; "" when plain)."""
        how = [weight_label(self.smoothing)] if self.smoothing else []
        how += ["log"] if self.log_y and not self._log_by_nature else []
        return f"[b]{escape(self.title)}[/b]", " ".join(how)

    def _legend_lines(self, room: int, note: str) -> tuple[str, str]:
        """Title and subtitle: name, how it is drawn and the legend, fitted to ``room`` cells each.

        The values stay when they can: if the legend fits with its values only once "smooth 0.9"
        leaves the title, that goes to the bottom line's end."""
        name, how = self.heading()
        width = len(Text.from_markup(name).plain)
        note_width = len(Text.from_markup(note).plain) + 2 if note else 0
        entries = self.legend_entries()
        heading = f"{name} {how}" if how else name
        heading_width = width + (len(how) + 1 if how else 0)
        lines = fit_legend(entries, [room - heading_width - 2, room - note_width], least_detail=1)
        if lines is None and how:
            lines = fit_legend(entries, [room - width - 2, room - note_width - len(how) - 2], least_detail=1)
            if lines is not None:
                heading, lines[1] = name, "  ".join(part for part in (lines[1], how) if part)
        if lines is None:
            lines = fit_legend(entries, [room - heading_width - 2, room - note_width]) or ["", ""]
        title = "  ".join(part for part in (heading, lines[0]) if part)
        return title, "  ".join(part for part in (lines[1], note) if part)

    def _update_title(self) -> bool:
        """Title and legend on the top border, the rest of the legend along the bottom (before the note).
        True when the title changed."""
        room = max(0, self.size.width - 4)  # inside the border (size): Textual keeps a line and a space each side of a title
        title, subtitle = self._legend_lines(room, self._note)
        if subtitle != self._subtitle:
            self._subtitle = subtitle
            self.border_subtitle = subtitle
        if title == self._title:
            return False
        self._title = title
        self.border_title = title  # repaints the whole chart
        return True

    def render(self) -> Text:
        key = self._current_key()
        if key != self._key:
            if self._had_data() and self._key is not None and self._same_frame(key, self._key):
                # Shown again with newer data: the screen switch paints what was drawn
                # (plotext stays off that path) and the changed cells follow at once.
                self.call_after_refresh(self._schedule)
            else:  # first paint, resized, or drawn another way (log scale, smoothing)
                self._build(key)
        return self._drawing
