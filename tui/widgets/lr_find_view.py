"""The learning-rate range test's curve as text: smoothed loss against the rate, log axis, the suggestion as a red line.

Pure drawing (plotext, imported on first use; no Textual): ``kwb lr-find`` prints it and the
app's dialog (``tui.screens.lr_find``) shows it.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["lr_curve"]


def lr_curve(result: Any, suggestion: float | None, width: int, height: int = 20, color: bool = True) -> str:
    """plotext's drawing of ``result`` (``engine.lr_find.LrFindResult``) at ``width`` × ``height`` cells.

    Args:
        result: the range test's learning rates and smoothed losses.
        suggestion: the rate drawn as a vertical line, or None.
        width: columns.
        height: rows. Defaults to 20.
        color: keep plotext's ANSI colours (False for a pipe). Defaults to True.
    """
    import plotext

    fig = plotext.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("simple")
    fig.legend(False)
    # plotext's own log scale fails on some ranges: plot log10(lr) and label the decades.
    points = [(math.log10(lr), s) for lr, s in zip(result.lrs, result.smoothed) if math.isfinite(s)]
    if len(points) < 2:
        return "too few finite losses to draw"
    fig.draw(fig.signal([p[0] for p in points], [p[1] for p in points], marker=plotext.marker("braille", pixel=39)))
    low, high = points[0][0], points[-1][0]
    if suggestion is not None:
        ys = [p[1] for p in points]
        lo, hi = min(ys), max(ys)
        column = [lo + (hi - lo) * i / 80 for i in range(81)]
        fig.draw(fig.signal([math.log10(suggestion)] * len(column), column, marker=plotext.marker("braille", pixel=196)))
    decades = list(range(math.ceil(low), math.floor(high) + 1)) or [low, high]
    fig.ruler("x").lim(low, high)
    fig.ruler("x").ticks(decades, [f"1e{d:+d}" if d else "1" for d in decades])
    mark = f" (red line: suggested {suggestion:.3g})" if suggestion is not None else ""
    fig.title(f"smoothed loss against learning rate, log scale{mark}")
    drawing = fig.build().string()
    return drawing if color else plotext.uncolorize(drawing)
