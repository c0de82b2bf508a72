"""A small scatter plot of one metric against one setting, one point per run (plotext, drawn at the widget's size).

A setting whose values are all numbers is a numeric axis (a log axis when they are all
positive and span two powers of ten or more, as learning rates do); otherwise each
distinct value gets a place of its own, labelled with the value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.reactive import var
from textual.widget import Widget

__all__ = ["Scatter", "render_scatter", "x_positions"]

Point = tuple[Any, float]
"""(setting value, metric value) of one run."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def x_positions(values: Sequence[Any]) -> tuple[list[float], list[float], list[str], bool]:
    """Where each value sits on the x axis: (positions, tick positions, tick labels, log axis).

    Numbers keep their value (their log10 on a log axis); anything else is placed by its
    text, in sorted order, one step apart.
    """
    if values and all(_is_number(v) for v in values):
        nums = [float(v) for v in values]
        low, high = min(nums), max(nums)
        if low > 0 and high / low >= 100:
            logs = [round(math.log10(v), 9) for v in nums]
            ticks = sorted(set(logs))
            return logs, ticks, [f"{10**t:g}" for t in ticks], True
        ticks = sorted(set(nums))
        return nums, ticks, [f"{t:g}" for t in ticks], False
    labels = sorted({_text(v) for v in values})
    where = {label: float(i) for i, label in enumerate(labels)}
    return [where[_text(v)] for v in values], list(where.values()), labels, False


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def render_scatter(points: Sequence[Point], width: int, height: int) -> str:
    """plotext's ANSI drawing of ``points`` (setting value, metric value) at ``width`` × ``height`` cells."""
    from tui.widgets.chart_render import unclipped_plotext

    with unclipped_plotext() as plotext:
        return _draw(plotext, points, width, height)


def _draw(plotext: Any, points: Sequence[Point], width: int, height: int) -> str:
    xs, ticks, labels, _log = x_positions([p[0] for p in points])
    ys = [p[1] for p in points]
    fig = plotext.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("simple")
    fig.draw(fig.signal(xs, ys, marker=plotext.marker("●", pixel=12)))
    low, high = min(xs), max(xs)
    pad = (high - low) * 0.08 or 0.5
    fig.ruler("x").lim(low - pad, high + pad)
    shown = max(2, width // 10)
    step = max(1, math.ceil(len(ticks) / shown))
    fig.ruler("x").ticks(ticks[::step], labels[::step])
    y_low, y_high = min(ys), max(ys)
    y_pad = (y_high - y_low) * 0.1 or abs(y_high) * 0.1 or 1.0
    fig.ruler("y").lim(y_low - y_pad, y_high + y_pad)
    return fig.build().string()  # the axes are named in the border title


class Scatter(Widget):
    """A metric against a setting: ``points`` and the axes' names; redrawn when either or the size changes."""

    DEFAULT_CSS = """
    Scatter { height: 1fr; border: round $panel; }
    """

    points: var[tuple[Point, ...]] = var(())
    """One (setting value, metric value) per run that has both."""
    names: var[tuple[str, str]] = var(("", ""))
    """The x axis' name (the setting) and the y axis' (the metric)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple | None = None
        self._drawing = Text("")

    def watch_points(self) -> None:
        self.refresh()

    def watch_names(self) -> None:
        x_name, y_name = self.names
        self.border_title = f"[b]{y_name}[/b] against [b]{x_name}[/b]" if x_name else ""
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size
        key = (self.points, self.names, width, height)
        if key != self._key:
            self._key = key
            if not self.points:
                self._drawing = Text("no run has both values", style="dim", justify="center")
            elif width < 20 or height < 5:
                self._drawing = Text("")
            else:
                try:
                    drawing = render_scatter(self.points, width, height)
                    self._drawing = Text.from_ansi(drawing, no_wrap=True)
                except Exception as exc:  # a plotting bug must never take the app down
                    self._drawing = Text(f"cannot draw this plot: {exc!r}", style="red")
        return self._drawing
