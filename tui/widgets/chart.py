"""A line chart widget: plotext draws it, the widget turns plotext's ANSI into Rich text.

``textual-plotext`` is not used (it pins plotext<6); plotext 6's figure is built at the
widget's size and its string output parsed with ``Text.from_ansi``. The built text is
cached by (series, size), so a chart redraws only when its data or size changed.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

__all__ = ["Chart", "SERIES_COLORS", "render_chart"]

SERIES_COLORS = ("bright_blue", "bright_green", "bright_red", "bright_cyan", "bright_magenta", "bright_yellow")
"""Rich names of plotext's first colours (palette 12, 10, 9, 14, 13, 11), for legends."""

Series = tuple[str, tuple[tuple[float, float], ...]]


def render_chart(series: Sequence[Series], width: int, height: int, log_y: bool = False) -> str:
    """plotext's ANSI drawing of ``series`` at ``width`` × ``height`` cells."""
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
        if high == low:
            pad = 0.1 if log_y else (abs(high) * 0.1 or 1.0)
            low, high = low - pad, high + pad
            fig.ruler("y").lim(low, high)
        if log_y:
            n = max(2, min(5, height // 3))
            ticks = [low + (high - low) * i / (n - 1) for i in range(n)]
            fig.ruler("y").ticks(ticks, [f"{10 ** t:.1e}" for t in ticks])
        if min(all_x) == max(all_x):
            fig.ruler("x").lim(all_x[0] - 1, all_x[0] + 1)
    return fig.build().string()


class Chart(Widget):
    """One chart of one or more series; legend in the border title."""

    DEFAULT_CSS = """
    Chart { height: 1fr; min-height: 6; border: round $panel; padding: 0; }
    """

    series: reactive[tuple[Series, ...]] = reactive((), layout=False)
    """The curves: ``(label, ((x, y), ...))`` each, drawn in ``SERIES_COLORS`` order."""
    log_y: reactive[bool] = reactive(False)
    """Draw the y axis on a log scale (the learning-rate chart)."""

    def __init__(self, title: str, *, log_y: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        """Shown at the top left of the border, before the legend."""
        self.set_reactive(Chart.log_y, log_y)
        self._cache_key: tuple | None = None
        self._cache: Text | None = None

    def watch_series(self) -> None:
        self._update_title()

    def on_mount(self) -> None:
        self._update_title()

    def _update_title(self) -> None:
        parts = [f"[b]{self.title}[/b]"]
        for i, (label, points) in enumerate(self.series):
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            last = f" {points[-1][1]:.4g}" if points else ""
            parts.append(f"[{color}]━ {label}{last}[/]")
        self.border_title = "  ".join(parts)

    def render(self) -> Text:
        width, height = self.content_size
        if width < 10 or height < 3:
            return Text("")
        if not any(points for _label, points in self.series):
            return Text("waiting for data…", style="dim", justify="center")
        key = (self.series, width, height, self.log_y)
        if key != self._cache_key:
            try:
                drawing = Text.from_ansi(render_chart(self.series, width, height, self.log_y), no_wrap=True)
            except Exception as exc:  # a plotting bug must never take the app down
                drawing = Text(f"cannot draw this chart: {exc!r}", style="red")
            self._cache = drawing
            self._cache_key = key
        return self._cache  # type: ignore[return-value]
