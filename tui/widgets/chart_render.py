"""Drawing a chart with plotext: round axis limits, the series (smoothed or raw), marks on the time axis.

Pure functions, no Textual: ``render_chart`` returns plotext's ANSI string for ``Chart``
(``tui.widgets.chart``) to turn into Rich text. plotext is imported when a chart is first
drawn, never at import time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from engine.smoothing import debiased_ema

__all__ = [
    "FAINT", "LINE_COLORS", "MARK_STYLES", "SERIES_COLORS", "Mark", "Series", "epoch_axis_end", "nice_range",
    "nice_ticks", "render_chart",
]  # fmt: skip

SERIES_COLORS = ("bright_blue", "bright_green", "bright_red", "bright_cyan", "bright_magenta", "bright_yellow")
"""Rich names of the series' colours, in order (the 256-colour palette's 12, 10, 9, 14, 13, 11), for legends."""
LINE_COLORS = (12, 10, 9, 14, 13, 11)
"""The same colours as palette numbers, for plotext."""
FAINT = "dim"
"""The raw curve behind a smoothed one: its line colour, dimmed (the same hue in any theme)."""
MARK_STYLES = {"lr_down": ("▾", 5), "lr_up": ("▴", 5), "checkpoint": ("◆", 6)}
"""A time-axis mark's glyph and palette colour (magenta: the learning rate; cyan: a manual checkpoint)."""

Series = tuple[str, tuple[tuple[float, float], ...]]
Mark = tuple[float, str]
"""A mark on the time axis: (x, kind), kind one of ``MARK_STYLES``."""


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at least ``raw``."""
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude * (1 + 1e-9))


def nice_ticks(low: float, high: float, count: int) -> tuple[list[float], list[str]]:
    """About ``count`` ticks at round values in ``[low, high]``, with labels."""
    step = _nice_step((high - low) / max(1, count))
    first = math.ceil(low / step - 1e-9)
    ticks = [i * step for i in range(first, math.floor(high / step + 1e-9) + 1)]
    # As few decimals as the step needs: 25 → "25", 2.5 → "2.5", 0.25 → "0.25" (a step of 25 epochs read 25.0)
    decimals = next((d for d in range(12) if abs(step * 10**d - round(step * 10**d)) < 1e-6 * max(1.0, step * 10**d)), 12)
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


def _signals(fig, series: Sequence[Series], log_y: bool, smoothing: float) -> tuple[list[float], list[float]]:
    """Draw each series (its raw curve faint behind the smoothed one when ``smoothing``); return every x and y drawn."""
    import plotext

    all_x: list[float] = []
    all_y: list[float] = []
    for i, (_label, points) in enumerate(series):
        pts = [(x, y) for x, y in points if math.isfinite(y) and (y > 0 or not log_y)]
        if not pts:
            continue
        xs = [p[0] for p in pts]
        raw = [p[1] for p in pts]
        curves = [(raw, LINE_COLORS[i % len(LINE_COLORS)])]
        if smoothing and len(pts) > 1:
            color = curves[0][1]
            curves = [(raw, (color, None, FAINT)), (debiased_ema(raw, smoothing), color)]
        for ys, color in curves:
            # plotext's own log scale fails on flat series; plot log10 and label the ticks.
            ys = [math.log10(y) if log_y else y for y in ys]
            sig = fig.signal(xs, ys, marker=plotext.marker("braille", pixel=color))
            if len(pts) > 1:
                sig.lines()
            fig.draw(sig)
            all_y += ys
        all_x += xs
    return all_x, all_y


def _mark_axis(drawing: str, marks: Sequence[Mark], x_low: float, x_high: float) -> str:
    """``drawing`` with each mark's glyph on the plot's bottom edge (the time axis), at its x."""
    lines = drawing.split("\n")
    row = next((i for i, line in enumerate(lines) if "└" in line and "┘" in line), None)
    if row is None or not marks or x_high <= x_low:
        return drawing
    line = lines[row]
    left, right = line.index("└") + 1, line.rindex("┘") - 1
    cells = {}
    for x, kind in marks:
        if kind in MARK_STYLES and x_low <= x <= x_high:
            cells[left + round((x - x_low) / (x_high - x_low) * (right - left))] = MARK_STYLES[kind]
    out = []
    for col, ch in enumerate(line):
        glyph, color = cells.get(col, (None, 0))
        out.append(f"\x1b[38;5;{color}m{glyph}\x1b[0m" if glyph else ch)
    lines[row] = "".join(out)
    return "\n".join(lines)


@contextmanager
def unclipped_plotext() -> Iterator[Any]:
    """plotext, drawing at the size asked for: it clips a plot to the terminal size it read at import,
    which is wrong for a widget once the terminal has grown (and in tests, at any size but 80×24)."""
    import plotext

    plotext.terminal.limit(False, False)
    try:
        yield plotext
    finally:
        plotext.terminal.limit()  # back to plotext's defaults


def render_chart(
    series: Sequence[Series],
    width: int,
    height: int,
    log_y: bool = False,
    x_limits: tuple[float, float] | None = None,
    smoothing: float = 0.0,
    marks: Sequence[Mark] = (),
) -> str:
    """plotext's ANSI drawing of ``series`` at ``width`` × ``height`` cells.

    Args:
        series: the curves, coloured in ``LINE_COLORS`` order.
        width: cells across.
        height: lines.
        log_y: a log scale (values ≤ 0 left out). Defaults to False.
        x_limits: the x axis' extent (widened to fit every point). Defaults to round limits around the data.
        smoothing: the debiased EMA's weight; the raw curves stay faint behind. Defaults to 0 (off).
        marks: glyphs on the time axis. Defaults to none.
    """
    with unclipped_plotext() as plotext:
        return _render(plotext.figure, series, width, height, log_y, x_limits, smoothing, marks)


def _render(fig, series, width, height, log_y, x_limits, smoothing, marks) -> str:
    """``render_chart``'s drawing on plotext's figure (limits, ticks, the marks)."""
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("simple")
    fig.legend(False)
    all_x, all_y = _signals(fig, series, log_y, smoothing)
    if not all_y:
        return fig.build().string()
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
    return _mark_axis(fig.build().string(), marks, x_low, x_high)
