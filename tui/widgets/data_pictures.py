"""``DataPictures``: a picture of the data on the Data screen — a scatter, histograms and class bars, or images.

What is drawn follows ``engine.data.samples.PictureKind``: two features give a scatter
coloured by class (a regression target: by fifths of its range); other tables a histogram
per feature (as many as fit) and the class balance; images a grid of samples with their
labels in half blocks (``tui.widgets.picture_render``). A regression target adds a
histogram of y. A CSV's text columns are listed under the picture, their most frequent
words with counts. The picture is laid out for the widget's size (the visible part of the
preview pane) and cached per sample and size, so scrolling and refreshes cost nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets import picture_render as draw

if TYPE_CHECKING:
    from engine.data.samples import DataSample

__all__ = ["DataPictures", "render_pictures", "shows_balance"]

PANEL_WIDTH = 16
"""Cells of one feature histogram (its bins)."""
PANEL_BARS = 3
"""Lines of one feature histogram's bars (a panel adds its name and its range)."""


def _count(sample: "DataSample") -> str:
    """How many samples the picture shows: "1400", or "2000 of 14000" for a sample of more."""
    n = len(sample.x)
    return f"{n}" if n >= sample.total else f"{n} of {sample.total}"


def _heading(text: str) -> Text:
    return Text(text, style="bold", no_wrap=True, overflow="ellipsis")


def _feature_name(sample: "DataSample", f: int) -> str:
    """Column ``f``'s name: the CSV column or named input, else ``x0`` (``image[3]`` for an input's column)."""
    if f < len(sample.feature_names):
        return sample.feature_names[f]
    return f"{sample.input_name}[{f}]" if sample.input_name else f"x{f}"


def _feature_panels(sample: "DataSample", width: int, height: int) -> list[Text]:
    """Small multiples: one histogram per feature, as many as fit ``width`` × ``height``."""
    x = sample.x
    features = x.shape[1]
    across = max(1, (width + 1) // (PANEL_WIDTH + 1))
    cols = min(PANEL_WIDTH, width) if across == 1 else PANEL_WIDTH
    down = max(0, height // (PANEL_BARS + 2))
    if features > across * down:
        down = max(0, (height - 1) // (PANEL_BARS + 2))  # a line for the note of how many are shown
    shown = min(features, across * down)
    lines: list[Text] = []
    for top in range(0, shown, across):
        panels = []
        for f in range(top, min(top + across, shown)):
            col = x[:, f].astype("float64")
            finite = col[np.isfinite(col)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
            name = Text(_feature_name(sample, f)[:cols], style="bold", no_wrap=True)
            panels.append([name, *draw.histogram(col, cols, PANEL_BARS), draw.axis_line(lo, hi, cols)])
        for row in zip(*panels):
            line = Text(no_wrap=True, overflow="crop")
            for i, part in enumerate(row):
                line.append_text(part)
                line.append(" " * (cols - part.cell_len + (1 if i < len(row) - 1 else 0)))
            lines.append(line)
    if shown < features:
        lines.append(Text(f"{shown} of {features} features shown", style="dim"))
    return lines


def _y_histogram(sample: "DataSample", width: int, height: int) -> list[Text]:
    """A histogram of the regression target: heading, bars, range."""
    name = sample.target
    bars = max(2, min(10, height - 2))
    lo, hi = float(np.nanmin(sample.y)), float(np.nanmax(sample.y))
    return [_heading(f"histogram of {name} ({len(sample.y)} samples)"),
            *draw.histogram(sample.y, width, bars, "cyan"), draw.axis_line(lo, hi, width)]  # fmt: skip


def _balance(sample: "DataSample", width: int, rows: int) -> list[Text]:
    if not sample.balance or rows < 2:
        return []
    return [_heading("class balance (train)"), *draw.balance_bars(sample.balance, width, rows - 1)]


def shows_balance(sample: "DataSample | None") -> bool:
    """True when the picture of ``sample`` draws its class balance (histograms of a classification
    table's features), so the text summary under it need not repeat it."""
    from engine.data.samples import PictureKind

    return sample is not None and sample.kind is PictureKind.FEATURES and sample.task == "classification" \
        and bool(sample.balance)  # fmt: skip


def _text_columns(sample: "DataSample") -> list[Text]:
    """The text columns, one line each: their most frequent values with counts (numbers are drawn, words listed)."""
    if not sample.categories:
        return []
    lines = [_heading(f"text columns ({sample.total} training rows)")]
    for name, top in sample.categories.items():
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{name} ", style="bold")
        line.append(" · ".join(f"{value} {count}" for value, count in top))
        more = sample.distinct.get(name, len(top)) - len(top)
        if more > 0:
            line.append(f" · {more} more", style="dim")
        lines.append(line)
    return lines


def _points(sample: "DataSample", width: int, height: int) -> list[Text]:
    """A scatter of the two features, coloured by class (regression: by fifths of y), with its legend."""
    if sample.task == "classification":
        groups, names = sample.y, sample.class_names
        title = f"{_feature_name(sample, 1)} against {_feature_name(sample, 0)} by class"
    else:
        groups, names = draw.quantile_groups(sample.y)
        title = f"{_feature_name(sample, 1)} against {_feature_name(sample, 0)} by {sample.target}"
    lines = [_heading(f"{title} ({_count(sample)})")]
    plot_h = height - 2
    if sample.task == "regression" and height >= 18:
        plot_h = height - 2 - height // 3
    if plot_h >= 5 and width >= 20:
        try:
            drawing = draw.scatter(np.asarray(sample.x, dtype="float64"), np.asarray(groups), width, plot_h)
            lines += Text.from_ansi(drawing, no_wrap=True).split("\n")[:plot_h]
        except Exception as exc:  # a plotting bug must never take the app down
            lines.append(Text(f"cannot draw this plot: {exc!r}", style="red"))
    lines.append(draw.legend(names, width))
    if sample.task == "regression" and height - len(lines) >= 4:
        lines += _y_histogram(sample, width, height - len(lines))
    return lines


def _curve(sample: "DataSample", width: int, height: int) -> list[Text]:
    """One feature and a regression target: y against x (a sine looks like a sine), then the histogram of y."""
    name = sample.target
    below = min(12, max(4, height // 3))
    lines = [_heading(f"{name} against {_feature_name(sample, 0)} ({_count(sample)})")]
    points = np.column_stack([np.asarray(sample.x[:, 0], dtype="float64"), np.asarray(sample.y, dtype="float64")])
    try:
        drawing = draw.scatter(points, np.zeros(len(points), dtype=int), width, height - 1 - below)
        lines += Text.from_ansi(drawing, no_wrap=True).split("\n")[: height - 1 - below]
    except Exception as exc:  # a plotting bug must never take the app down
        lines.append(Text(f"cannot draw this plot: {exc!r}", style="red"))
    return lines + _y_histogram(sample, width, height - len(lines))


def _features(sample: "DataSample", width: int, height: int) -> list[Text]:
    """Histograms of the features, then the class balance or the target's histogram."""
    if sample.task == "regression" and sample.x.shape[1] == 1 and height >= 16 and width >= 20:
        return _curve(sample, width, height)
    lines = [_heading(f"features ({_count(sample)} samples)")]
    if sample.task == "classification":
        below = min(len(sample.balance), 6) + 1 if sample.balance else 0
    else:
        below = max(4, height // 3)
    lines += _feature_panels(sample, width, height - 1 - below)
    if sample.task == "classification":
        lines += _balance(sample, width, height - len(lines))
    elif height - len(lines) >= 4:
        lines += _y_histogram(sample, width, height - len(lines))
    return lines


def _images(sample: "DataSample", width: int, height: int) -> list[Text]:
    """A grid of images, each with its label (class name or target value) under it."""
    images = draw.to_unit(sample.x)
    h, w = images.shape[1:3]
    cols, rows, across, down = draw.fit_tiles(len(images), (h, w), width, height - 1)
    shown = min(len(images), across * down)
    lines = [_heading(f"{shown} of {sample.total} training images ({h}×{w})")]
    for top in range(0, shown, across):
        tiles = [draw.half_block(images[i], cols, rows) for i in range(top, min(top + across, shown))]
        labels = [Text(sample.label(i)[:cols], style="cyan", no_wrap=True) for i in range(top, top + len(tiles))]
        for row in [*zip(*tiles), labels]:
            line = Text(no_wrap=True, overflow="crop")
            for part in row:
                line.append_text(part)
                line.append(" " * (cols - part.cell_len + 1))
            lines.append(line)
    return lines


def render_pictures(sample: "DataSample", width: int, height: int) -> Text:
    """The picture of ``sample`` laid out in ``width`` × ``height`` cells (never more lines than ``height``)."""
    from engine.data.samples import PictureKind

    if width < 12 or height < 4:
        return Text("")
    draw_kind = {PictureKind.POINTS: _points, PictureKind.FEATURES: _features, PictureKind.IMAGES: _images}
    listed = _text_columns(sample)
    if height - len(listed) < 8:  # too short a pane to list them as well: the picture comes first
        listed = []
    lines = draw_kind[sample.kind](sample, width, height - len(listed)) + listed
    for line in lines:
        line.truncate(width, overflow="ellipsis")
    out = Text("\n", no_wrap=True, overflow="crop").join(lines[:height])
    out.no_wrap, out.overflow = True, "crop"
    return out


class DataPictures(Widget):
    """The picture of the latest data sample; set ``sample`` (None hides it)."""

    DEFAULT_CSS = """
    DataPictures { height: auto; margin-bottom: 1; }
    """

    sample: reactive[Any] = reactive(None, layout=True)
    """An ``engine.data.samples.DataSample``, or None while there is none."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple | None = None
        self._drawing = Text("")

    def watch_sample(self, sample: Any) -> None:
        self.display = sample is not None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """As tall as the picture drawn for the visible height of the pane it sits in: a scatter or an image
        grid fills it, without scrolling; histograms take their own rows, and the summary follows at once."""
        if self.sample is None:
            return 0
        parent = self.parent
        visible = parent.scrollable_content_region.height if isinstance(parent, Widget) else container.height
        return max(4, len(self._draw(width, max(4, visible - 1)).plain.rstrip().split("\n")))

    def _draw(self, width: int, height: int) -> Text:
        """The picture at ``width`` × ``height`` (drawn once per sample and size)."""
        key = (id(self.sample), width, height)
        if key != self._key:
            self._key = key
            if self.sample is None:
                self._drawing = Text("")
            else:
                try:
                    self._drawing = render_pictures(self.sample, width, height)
                except Exception as exc:  # a drawing bug must never take the app down
                    self._drawing = Text(f"cannot draw the data: {exc!r}", style="red")
        return self._drawing

    def render(self) -> Text:
        width, height = self.content_size
        if self._key is not None and self._key[:2] == (id(self.sample), width) and \
                len(self._drawing.plain.rstrip().split("\n")) <= height:  # fmt: skip
            return self._drawing  # what the height was measured on
        return self._draw(width, height)
