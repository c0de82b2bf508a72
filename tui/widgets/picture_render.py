"""Drawing data pictures as Rich text: half-block images, small histograms, class bars, a class-coloured scatter.

Pure functions of numpy arrays and a cell budget (``width`` × ``height``), no Textual, so
``DataPictures`` (``tui.widgets.data_pictures``) and its tests call them directly. Images
are drawn with half blocks: one cell is two pixels stacked, ``▀`` in the top pixel's
colour on the bottom pixel's, which every terminal with colours shows, over SSH and in
tmux alike. plotext (the scatter) is imported when a scatter is first drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

__all__ = [
    "CLASS_COLORS", "balance_bars", "fit_tiles", "half_block", "histogram", "predicted_vs_actual", "scatter", "to_unit",
]  # fmt: skip

CLASS_COLORS = (12, 10, 9, 14, 13, 11, 208, 141, 39, 226, 203, 120)
"""The 256-colour palette numbers classes are drawn in, in order (the charts' six first), cycled past twelve."""
_EIGHTHS = " ▁▂▃▄▅▆▇█"


def class_style(k: int) -> Style:
    """Class ``k``'s colour as a Rich style."""
    return Style(color=Color.from_ansi(CLASS_COLORS[k % len(CLASS_COLORS)]))


def to_unit(images: np.ndarray) -> np.ndarray:
    """Pixel values mapped to [0, 1] for the whole sample at once: kept when already there, ÷255 for
    0-255 values, else stretched from the sample's minimum to its maximum."""
    a = np.asarray(images, dtype="float64")
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo >= 0 and hi <= 1:
        out = a
    elif lo >= 0 and hi <= 255:
        out = a / 255.0
    else:
        out = (a - lo) / ((hi - lo) or 1.0)
    return np.clip(np.nan_to_num(out), 0.0, 1.0)


def _resize(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``image`` (h, w[, c]) resampled to ``rows`` × ``cols`` pixels by averaging the source pixels each one covers."""
    h, w = image.shape[:2]
    r_edges = np.linspace(0, h, rows + 1)
    c_edges = np.linspace(0, w, cols + 1)
    r_lo = np.minimum(np.floor(r_edges[:-1]).astype(int), h - 1)
    r_hi = np.maximum(np.ceil(r_edges[1:]).astype(int), r_lo + 1)
    c_lo = np.minimum(np.floor(c_edges[:-1]).astype(int), w - 1)
    c_hi = np.maximum(np.ceil(c_edges[1:]).astype(int), c_lo + 1)
    # Summed-area table: each output pixel is the mean of its source box in O(1).
    sat = np.zeros((h + 1, w + 1, *image.shape[2:]))
    sat[1:, 1:] = image.cumsum(0).cumsum(1)
    total = sat[r_hi][:, c_hi] - sat[r_lo][:, c_hi] - sat[r_hi][:, c_lo] + sat[r_lo][:, c_lo]
    area = ((r_hi - r_lo)[:, None] * (c_hi - c_lo)[None, :]).reshape(rows, cols, *([1] * (image.ndim - 2)))
    return total / area


def _rgb(pixel: np.ndarray) -> Color:
    values = np.atleast_1d(pixel)
    r, g, b = (values[0],) * 3 if values.size < 3 else values[:3]
    return Color.from_rgb(int(r * 255 + 0.5), int(g * 255 + 0.5), int(b * 255 + 0.5))


def half_block(image: np.ndarray, cols: int, rows: int) -> list[Text]:
    """One image in [0, 1] ((h, w), (h, w, 1), (h, w, 3) or (h, w, 4)) as ``rows`` lines of ``cols`` half-block cells."""
    pixels = _resize(np.asarray(image, dtype="float64"), 2 * rows, cols)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    lines = []
    for r in range(rows):
        line = Text(no_wrap=True, overflow="crop")
        for c in range(cols):
            line.append("▀", Style(color=_rgb(pixels[2 * r, c]), bgcolor=_rgb(pixels[2 * r + 1, c])))
        lines.append(line)
    return lines


def fit_tiles(count: int, shape: tuple[int, int], width: int, height: int, want: int = 8) -> tuple[int, int, int, int]:
    """The largest image tiles that show at least ``want`` of ``count`` images (or all of them) in
    ``width`` × ``height`` cells, never wider than twice the image: (tile columns, image lines, tiles across, tiles down).

    A tile is the image (two pixels a line) and its label line below; tiles sit one column apart.
    """
    h, w = shape
    need = min(count, want)
    best = (4, max(1, math.ceil(4 * h / w / 2)), max(1, (width + 1) // 5), max(1, height // 3))
    for cols in range(min(2 * w, width), 3, -1):
        lines = max(1, math.ceil(cols * h / w / 2))
        across, down = (width + 1) // (cols + 1), height // (lines + 1)
        if across * down >= need:
            return cols, lines, across, down
    return best


def histogram(values: np.ndarray, cols: int, rows: int, style: str | Style = "green") -> list[Text]:
    """``values`` in equal bins from their minimum to their maximum, as ``rows`` lines of eighth blocks over
    ``cols`` cells (the fullest bin reaches the top). There are ``cols`` bins, fewer for few values (about
    fifteen values a bin), each then as wide as the cells allow."""
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if not v.size:
        return [Text("no finite values", style="dim")] + [Text("") for _ in range(rows - 1)]
    lo, hi = float(v.min()), float(v.max())
    bins = max(1, min(cols, v.size // 15))
    counts, _ = np.histogram(v, bins=bins, range=(lo, hi) if hi > lo else (lo - 0.5, hi + 0.5))
    counts = counts[(np.arange(cols) * bins) // cols]  # each bin stretched over its cells
    levels = np.round(counts / max(1, counts.max()) * rows * 8).astype(int)
    lines = []
    for r in range(rows - 1, -1, -1):
        cells = "".join(_EIGHTHS[int(min(8, max(0, lv - 8 * r)))] for lv in levels)
        lines.append(Text(cells, style=style, no_wrap=True))
    return lines


def axis_line(lo: float, hi: float, cols: int) -> Text:
    """The minimum at the left, the maximum at the right of ``cols`` cells, each as short as it must be to fit
    whole (``-3.22e+03 3.09e+`` said 3.09 where it meant 3,090)."""
    for form in (lambda v: f"{v:.3g}", lambda v: f"{v:.2g}", _si, lambda v: _si(v, 1)):
        left, right = form(lo), form(hi)
        if len(left) + len(right) + 1 <= cols:
            break
    gap = max(1, cols - len(left) - len(right))
    return Text(f"{left}{' ' * gap}{right}"[:cols], style="dim", no_wrap=True)


def _si(v: float, digits: int = 2) -> str:
    """``v`` with a k/M/G/T suffix when large (``-3.2k``), else in ``.{digits}g``."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.{digits}g}{suffix}"
    return f"{v:.{digits}g}"


def balance_bars(balance: dict[str, int], width: int, rows: int) -> list[Text]:
    """One bar per class in its class colour, the longest ``width`` minus labels; at most ``rows`` lines."""
    if not balance:
        return []
    items = list(balance.items())
    shown = items if len(items) <= rows else items[: max(0, rows - 1)]
    name_w = min(12, max(len(str(k)) for k, _ in shown)) if shown else 0
    count_w = max(len(str(c)) for _, c in items)
    bar_w = max(1, width - name_w - count_w - 2)
    largest = max(c for _, c in items) or 1
    lines = []
    for k, (name, c) in enumerate(shown):
        cells = max(1 if c else 0, round(bar_w * c / largest))
        line = Text(f"{str(name)[:name_w]:>{name_w}} ", no_wrap=True)
        line.append("█" * cells, class_style(k))
        line.append(f" {c}")
        lines.append(line)
    if len(shown) < len(items):
        lines.append(Text(f"… and {len(items) - len(shown)} more classes", style="dim"))
    return lines


@contextmanager
def _figure(width: int, height: int) -> Iterator[Any]:
    """plotext's figure, cleared, sized ``width`` × ``height`` (the widget's size, not the terminal's)."""
    import plotext

    plotext.terminal.limit(False, False)
    try:
        fig = plotext.figure
        fig.clear()
        fig.plot_size(width, height)
        fig.theme("simple")
        fig.legend(False)
        yield fig
    finally:
        plotext.terminal.limit()


def scatter(points: np.ndarray, groups: np.ndarray, width: int, height: int) -> str:
    """plotext's ANSI drawing of ``points`` (n, 2), each point in its group's class colour, braille dots."""
    import plotext

    with _figure(width, height) as fig:
        for k in np.unique(groups):
            chosen = points[groups == k]
            color = CLASS_COLORS[int(k) % len(CLASS_COLORS)]
            sig = fig.signal(chosen[:, 0].tolist(), chosen[:, 1].tolist(), marker=plotext.marker("braille", pixel=color))
            fig.draw(sig)
        return fig.build().string()


def predicted_vs_actual(actual: Sequence[float], predicted: Sequence[float], width: int, height: int) -> str:
    """plotext's ANSI drawing of a regression's predictions (y) against the true values (x), over the
    grey y = x line a perfect model would sit on; for ``kwb evaluate --report`` and the app's report."""
    import plotext

    with _figure(width, height) as fig:
        lo, hi = min(min(actual), min(predicted)), max(max(actual), max(predicted))
        diagonal = [lo + (hi - lo) * i / 100 for i in range(101)]
        fig.draw(fig.signal(diagonal, diagonal, marker=plotext.marker("braille", pixel=244)))
        fig.draw(fig.signal(list(actual), list(predicted), marker=plotext.marker("braille", pixel=39)))
        fig.title("predicted (y) against actual (x); grey: y = x")
        return fig.build().string()


def quantile_groups(values: np.ndarray, groups: int = 5) -> tuple[np.ndarray, list[str]]:
    """Regression targets put in ``groups`` equal-count groups (for colouring): each value's group, and each group's range."""
    v = np.asarray(values, dtype="float64")
    edges = np.unique(np.quantile(v, np.linspace(0, 1, groups + 1)))
    if len(edges) < 2:
        return np.zeros(len(v), dtype=int), [f"{v[0]:.3g}" if len(v) else ""]
    index = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    names = [f"{lo:.3g}…{hi:.3g}" for lo, hi in zip(edges[:-1], edges[1:])]
    return index, names


def legend(names: Sequence[str], width: int) -> Text:
    """Class names in their colours on one line (as many as fit)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for k, name in enumerate(names):
        piece = f"● {name}  "
        if out.cell_len + len(piece) > width and k:
            out.append("…", style="dim")
            break
        out.append("● ", class_style(k))
        out.append(f"{name}  ")
    return out
