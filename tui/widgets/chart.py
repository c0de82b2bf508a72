"""A line chart widget: plotext draws it, the widget turns plotext's ANSI into Rich text.

``textual-plotext`` is not used (it pins plotext<6); plotext 6's figure is built at the
widget's size and its string output parsed with ``Text.from_ansi``.

A live chart is built for people on the other end of an SSH link, so it is frugal
with the terminal: it repaints only the cells that changed (``tui.widgets.cells``), at
most once a second and less often after a big change (``Chart.MIN_INTERVAL``,
``Chart.CELLS_PER_S``; the first data shows at once), and not while its screen is
hidden. The axes snap to round limits (``nice_range``), so a growing curve leaves the
rest of the plot as it was instead of rescaling it on every point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive, var
from textual.timer import Timer
from textual.widget import Widget

from tui.widgets.cells import RepaintBudget, changed_regions, sent_cells

__all__ = ["SERIES_COLORS", "Chart", "epoch_axis_end", "nice_range", "nice_ticks", "render_chart"]

SERIES_COLORS = ("bright_blue", "bright_green", "bright_red", "bright_cyan", "bright_magenta", "bright_yellow")
"""Rich names of plotext's first colours (palette 12, 10, 9, 14, 13, 11), for legends."""

Series = tuple[str, tuple[tuple[float, float], ...]]


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at least ``raw``."""
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude * (1 + 1e-9))


def nice_ticks(low: float, high: float, count: int) -> tuple[list[float], list[str]]:
    """About ``count`` ticks at round values in ``[low, high]``, with labels."""
    step = _nice_step((high - low) / max(1, count))
    first = math.ceil(low / step - 1e-9)
    ticks = [i * step for i in range(first, math.floor(high / step + 1e-9) + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if round(step / 10 ** math.floor(math.log10(step)), 6) == 2.5 else 0)
    return ticks, [f"{t:.{decimals}f}" for t in ticks]


def nice_range(low: float, high: float) -> tuple[float, float]:
    """``[low, high]`` widened to multiples of a round step (1, 2, 2.5 or 5 × 10^k, about an eighth of the span).

    The limits move only when the data crosses a step, not with every new point.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return low, high
    if high <= low:
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    step = _nice_step((high - low) / 8)
    return math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step


def epoch_axis_end(epochs_seen: float, planned: int = 0) -> float:
    """The right end of an epoch axis: the next round number of epochs (1 2 3 4 5 6 8 10 12 15 20 …).

    Through a run the x axis then stays put for whole epochs and grows in ever larger
    steps, instead of stretching with every batch; ``planned`` (the run's epochs) caps it.
    """
    target = max(1.0, epochs_seen)
    magnitude = 10 ** math.floor(math.log10(target))
    end = next(m * magnitude for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= target - 1e-9)
    return float(min(end, planned)) if planned >= target else end


def render_chart(
    series: Sequence[Series], width: int, height: int, log_y: bool = False, x_limits: tuple[float, float] | None = None
) -> str:
    """plotext's ANSI drawing of ``series`` at ``width`` × ``height`` cells (x axis over ``x_limits`` if given)."""
    import plotext

    fig = plotext.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("simple")
    fig.legend(False)
    all_y: list[float] = []
    all_x: list[float] = []
    for _label, points in series:
        pts = [(x, y) for x, y in points if math.isfinite(y) and (y > 0 or not log_y)]
        xs = [p[0] for p in pts]
        # plotext's own log scale fails on flat series; plot log10 and label the ticks.
        ys = [math.log10(p[1]) if log_y else p[1] for p in pts]
        all_x += xs
        all_y += ys
        # An empty signal still takes its colour, keeping the legend aligned.
        sig = fig.signal(xs, ys, marker="braille")
        if len(pts) > 1:
            sig.lines()
        fig.draw(sig)
    if all_y:
        low, high = min(all_y), max(all_y)
        if log_y:
            if high == low:
                low, high = low - 0.1, high + 0.1
            fig.ruler("y").lim(low, high)
            n = max(2, min(5, height // 3))
            ticks = [low + (high - low) * i / (n - 1) for i in range(n)]
            fig.ruler("y").ticks(ticks, [f"{10**t:.1e}" for t in ticks])
        else:
            low, high = nice_range(low, high)
            fig.ruler("y").lim(low, high)
            fig.ruler("y").ticks(*nice_ticks(low, high, max(2, min(5, height // 3))))
        x_low, x_high = min(all_x), max(all_x)
        if x_limits is not None:
            x_low, x_high = min(x_low, x_limits[0]), max(x_high, x_limits[1])
        else:
            x_low, x_high = (x_low - 1, x_high + 1) if x_low == x_high else nice_range(x_low, x_high)
        fig.ruler("x").lim(x_low, x_high)
        fig.ruler("x").ticks(*nice_ticks(x_low, x_high, max(2, min(6, width // 10))))
    return fig.build().string()


class Chart(Widget):
    """One chart of one or more series; legend in the border title."""

    DEFAULT_CSS = """
    Chart { height: 1fr; min-height: 6; border: round $panel; padding: 0; border-subtitle-align: left; }
    """

    MIN_INTERVAL = 1.0
    """Least seconds between two redraws while the data keeps changing."""
    CELLS_PER_S = 250
    """Cells a second, on average, that a changing chart may send: the tip of a curve
    moves every second, a whole 60×17 chart redrawn waits 4 s for the next redraw."""

    series: var[tuple[Series, ...]] = var(())
    """The curves: ``(label, ((x, y), ...))`` each, drawn in ``SERIES_COLORS`` order."""
    legend: var[tuple[float | None, ...] | None] = var(None)
    """The value shown after each label (None: no value); no legend shows each series' last point."""
    x_limits: var[tuple[float, float] | None] = var(None)
    """The x axis' extent (it still widens to fit every point); None fits round limits to the data."""
    log_y: reactive[bool] = reactive(False)
    """Draw the y axis on a log scale (the learning-rate chart)."""

    def __init__(self, title: str, *, log_y: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        """Shown at the top left of the border, before the legend."""
        self.set_reactive(Chart.log_y, log_y)
        self._key: tuple | None = None
        """What the drawing on screen shows: (series, width, height, log_y, x_limits)."""
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
    ) -> None:
        """Set ``series``, ``legend`` and ``x_limits`` together (one redraw, not three)."""
        self.set_reactive(Chart.series, series)
        self.set_reactive(Chart.legend, legend)
        self.set_reactive(Chart.x_limits, x_limits)
        self._schedule()

    def watch_series(self) -> None:
        self._schedule()

    def watch_legend(self) -> None:
        self._schedule()

    def watch_x_limits(self) -> None:
        self._schedule()

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

    def _redraw(self) -> None:
        """Bring title and drawing up to date, repainting only the cells that changed."""
        title_changed = self._update_title()  # a new title repaints the whole chart
        if not self.screen.is_current:
            return  # drawn by ``render`` when its screen is shown again
        width, height = self.content_size
        key = (self.series, width, height, self.log_y, self.x_limits)
        if key == self._key and not title_changed:
            return
        old_key, old_lines, had_data = self._key, self._lines, self._had_data()
        if key != self._key:
            self._build(key)
        regions = None
        if not title_changed and had_data and self._had_data() and old_key is not None and old_key[1:4] == key[1:4]:
            regions = changed_regions(old_lines, self._lines, width)
        if regions is None:
            self.refresh()
            self._budget.spend(width * height)
        else:
            if regions:
                self.refresh(*regions)
            self._budget.spend(sent_cells(regions))

    def _build(self, key: tuple) -> None:
        series, width, height, log_y, x_limits = key
        if width < 10 or height < 3:
            drawing = Text("")
        elif not any(points for _label, points in series):
            drawing = Text("waiting for data…", style="dim", justify="center")
        else:
            try:
                drawing = Text.from_ansi(render_chart(series, width, height, log_y, x_limits), no_wrap=True)
            except Exception as exc:  # a plotting bug must never take the app down
                drawing = Text(f"cannot draw this chart: {exc!r}", style="red")
        self._drawing, self._key = drawing, key
        self._lines = drawing.split("\n", allow_blank=True)

    def _legend(self) -> list[tuple[str, str]]:
        """Each series' legend entry: (plain text, markup)."""
        entries = []
        legend = self.legend
        for i, (label, points) in enumerate(self.series):
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            value = legend[i] if legend is not None and i < len(legend) else (points[-1][1] if points else None)
            text = f"━ {label}" + (f" {value:.4g}" if value is not None else "")
            entries.append((text, f"[{color}]{text}[/]"))
        return entries

    def _update_title(self) -> bool:
        """Title and legend on the top border; a legend of more than two series that would not fit
        goes on along the bottom border (before the note). True when the title changed."""
        entries = self._legend()
        top, bottom = entries, []
        room = self.size.width - 6  # the corners, and a space each side of the title
        if len(entries) > 2 and room > 0:
            used = len(self.title)
            for n, (text, _markup) in enumerate(entries):
                used += 2 + len(text)
                if used > room and n > 0:
                    top, bottom = entries[:n], entries[n:]
                    break
        title = "  ".join([f"[b]{self.title}[/b]"] + [markup for _text, markup in top])
        subtitle = "  ".join([markup for _text, markup in bottom] + ([self._note] if self._note else []))
        if subtitle != self._subtitle:
            self._subtitle = subtitle
            self.border_subtitle = subtitle
        if title == self._title:
            return False
        self._title = title
        self.border_title = title  # repaints the whole chart
        return True

    def render(self) -> Text:
        width, height = self.content_size
        key = (self.series, width, height, self.log_y, self.x_limits)
        if key != self._key:
            if self._had_data() and self._key is not None and key[1:4] == self._key[1:4]:
                # Shown again with newer data: the screen switch paints what was drawn
                # (plotext stays off that path) and the changed cells follow at once.
                self.call_after_refresh(self._schedule)
            else:  # first paint or resized
                self._build(key)
        return self._drawing
