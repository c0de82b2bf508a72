"""The training dashboard: progress, one chart per metric family, the learning rate and the event log.

The dashboard also owns how its charts are read (the screens showing it bind the keys):
``cycle_smoothing`` (``S``), ``toggle_log`` (``Y``, the loss chart), ``toggle_zoom`` (``z``:
the focused chart alone) and ``focus_chart`` (arrows). Legends show each series' latest and
best value, the loss chart marks learning-rate changes and manual checkpoints on its time axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.reactive import var
from textual.widget import Widget

from engine.callbacks.monitor import metric_direction
from engine.smoothing import next_weight
from tui.families import Family, families, metric_bases
from tui.state import DashState
from tui.widgets.chart import Chart, Mark, epoch_axis_end
from tui.widgets.event_log import EventLog
from tui.widgets.run_header import RunHeader

__all__ = [
    "Dashboard", "Layout", "axis_marks", "best_value", "chart_families", "chart_layout", "epoch_limits", "epoch_value",
    "metric_names",
]  # fmt: skip

ROW_LINES = 10
"""Least lines a row of charts needs to stay readable; where rows would be thinner the metric charts take turns."""


def _keys(state: DashState) -> list[str]:
    """The run's log keys: the names ``run_started`` announced, then any the logs added."""
    return list(state.metrics) + list(state.batch) + list(state.history)


def metric_names(state: DashState) -> list[str]:
    """Training metrics other than the losses, in the order the run reported them."""
    return metric_bases(_keys(state))


def chart_families(state: DashState) -> list[Family]:
    """The run's charts: all losses together, then one per metric (each with its ``val_`` twin)."""
    return families(_keys(state))


def train_curve(state: DashState, key: str) -> tuple[tuple[float, float], ...]:
    """The finished epochs' values of ``key``.

    A partial epoch is not plotted: its running average after a few batches (accuracy
    0.55 after one batch) would spike at the right edge at each epoch's start. The
    header shows the current epoch's batch values instead.
    """
    return state.history.get(key, ())


def epoch_value(state: DashState, key: str) -> float | None:
    """The last epoch's value of ``key`` (None before the first epoch ends)."""
    points = state.history.get(key)
    return points[-1][1] if points else None


def best_value(state: DashState, key: str) -> float | None:
    """The best epoch value of ``key`` so far: the lowest, or the highest for a metric that is better high
    (``engine.callbacks.monitor.metric_direction``); None before the first epoch ends."""
    values = [y for _x, y in state.history.get(key, ()) if math.isfinite(y)]
    if not values:
        return None
    return max(values) if metric_direction(None, key) == "max" else min(values)


def axis_marks(state: DashState) -> tuple[Mark, ...]:
    """Where the loss chart's time axis is marked: each learning-rate change (where the new rate
    first shows) and each manual checkpoint (at the step it was written)."""
    marks: list[Mark] = []
    for (_x0, before), (x, after) in zip(state.lr, state.lr[1:]):
        if after != before:
            marks.append((x, "lr_down" if after < before else "lr_up"))
    marks += [(x, "checkpoint") for x in state.checkpoint_at]
    return tuple(marks)


def epoch_limits(state: DashState, curves: list[tuple[tuple[float, float], ...]]) -> tuple[float, float] | None:
    """The epoch axis of a run's charts: from its first epoch to the next round number past the epochs seen."""
    drawn = [points for points in curves if points]
    if not drawn:
        return None
    start = float(math.floor(min(points[0][0] for points in drawn)))
    seen = max(max(points[-1][0] for points in drawn), state.epoch + (1 if state.active else 0))
    return start, start + epoch_axis_end(seen - start, state.epochs - int(start))


@dataclass(frozen=True)
class Layout:
    """Where the grid's cells go: loss chart, metric charts, LR chart, event log, two columns wide."""

    rows: int
    paged: bool
    """The metric charts take turns in one cell (``Dashboard.next_chart``)."""
    wide_loss: bool
    """The loss chart spans both columns (its legend names several outputs' losses)."""
    wide_log: bool
    """The event log spans both columns (it would sit alone in the last row)."""
    lr_paged: bool = False
    """The learning-rate chart is one of the pages (the header still shows the current rate)."""


def chart_layout(metric_charts: int, wide_loss: bool, height: int) -> Layout:
    """The grid for the loss chart, ``metric_charts`` metric charts, the LR chart and the log in ``height`` lines.

    Every chart shows when each row gets ``ROW_LINES`` lines. Else two rows: a wide
    loss chart over a cell where the metric charts and the LR chart take turns, beside
    the log; or, with one loss curve and its twin, the two-by-two of a one-output run
    with the metric charts taking turns in theirs. Pages rather than smaller charts: at
    80×24 a third row of charts would leave each four lines of plot, too few to read a
    trend; and six loss curves need the width for their legend.

    Args:
        metric_charts: how many metric families the run has.
        wide_loss: the loss chart would like both columns (more than two curves).
        height: the grid's height in lines.
    """
    cells = (2 if wide_loss else 1) + max(1, metric_charts) + 2
    rows = math.ceil(cells / 2)
    if rows <= 2 or height >= rows * ROW_LINES:
        return Layout(rows, paged=False, wide_loss=wide_loss, wide_log=cells % 2 == 1)
    return Layout(2, paged=True, wide_loss=wide_loss, wide_log=False, lr_paged=wide_loss)


class Dashboard(Widget):
    """Everything about one run, drawn from a single immutable ``DashState``.

    One chart per metric family (``tui.families``): all losses, then each metric of
    each output, laid out by ``chart_layout``. A one-output run keeps the two-by-two
    of loss, metric, learning rate and log.

    Args:
        live: shows the app's current run (the Train screen), not a recorded one. Defaults to False.
    """

    DEFAULT_CSS = """
    Dashboard { layout: vertical; height: 1fr; }
    Dashboard > Grid { grid-size: 2 2; grid-columns: 1fr 1fr; grid-rows: 1fr 1fr; height: 1fr; }
    """

    NEXT_CHART_KEY = "m"
    """The key the screens showing a dashboard bind to ``next_chart`` (named in the paged chart's border)."""
    CHART_BINDINGS = (
        Binding("S", "smooth", "Smooth"),
        Binding("Y", "log_scale", "Log scale"),
        Binding("z", "zoom", "Zoom"),
        Binding("right,down", "focus_chart(1)", "Next chart focus", show=False),
        Binding("left,up", "focus_chart(-1)", "Previous chart focus", show=False),
    )
    """The keys a screen showing a dashboard binds, each to an action calling the method of the same
    job: ``cycle_smoothing``, ``toggle_log``, ``toggle_zoom``, ``focus_chart``."""
    CHART_ACTIONS = frozenset({"smooth", "log_scale", "zoom", "focus_chart"})
    """The actions of ``CHART_BINDINGS``."""

    # A ``var``: the dashboard draws nothing itself, and repainting it would repaint
    # every child (the whole screen's worth of terminal output) on each update.
    state: var[DashState] = var(DashState, always_update=True)
    """The run to show; assigning a new state redraws the children whose content changed."""
    page: var[int] = var(0)
    """The chart shown where several take turns in one cell (a small terminal)."""
    smoothing: var[float] = var(0.0)
    """The loss and metric charts' smoothing weight (``cycle_smoothing``); 0: off."""
    log_loss: var[bool] = var(False)
    """The loss chart on a log scale (``toggle_log``)."""
    zoomed: var[Chart | None] = var(None)
    """The chart shown alone, over the whole dashboard (``toggle_zoom``); None: the layout."""

    def __init__(self, *, live: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.live = live
        self._layout: Layout | None = None
        self._arranged: tuple[Layout, int] | None = None
        """The layout last applied, and for how many metric charts."""
        self._charts: list[Chart] = []
        """The metric charts, one per metric family (at least one), in the grid's order."""

    def compose(self) -> ComposeResult:
        yield RunHeader(live=self.live)
        with Grid():
            yield Chart("loss", id="chart-loss")
            self._charts = [Chart("metric", id="chart-metric")]
            yield self._charts[0]
            yield Chart("learning rate", log_y=True, id="chart-lr")
            yield EventLog()

    def on_mount(self) -> None:
        self.watch_state(self.state)

    def on_resize(self) -> None:
        self._arrange()

    def _paged(self) -> list[Chart]:
        """The charts that take turns in one cell ([] when every chart shows)."""
        layout = self._layout
        if layout is None or not layout.paged or self.zoomed is not None:
            return []
        return self._charts + ([self.query_one("#chart-lr", Chart)] if layout.lr_paged else [])

    @property
    def pages(self) -> int:
        """How many charts take turns in one cell (1: every chart shows)."""
        return max(1, len(self._paged()))

    @property
    def metric_charts(self) -> list[Chart]:
        """The metric charts, one per metric family (at least one), in the grid's order."""
        return list(self._charts)

    def next_chart(self) -> None:
        """Show the next chart in the cell the paged charts share."""
        self.page = (self.page + 1) % max(1, self.pages)

    def watch_page(self) -> None:
        self._arrange(force=True)

    # ------------------------------------------------------------ reading the charts
    def _smoothed_charts(self) -> list[Chart]:
        return [self.query_one("#chart-loss", Chart), *self._charts]

    def cycle_smoothing(self) -> float:
        """The next smoothing weight (off → 0.6 → 0.9 → 0.99 → off) for the loss and metric charts; returns it."""
        self.smoothing = next_weight(self.smoothing)
        return self.smoothing

    def watch_smoothing(self, weight: float) -> None:
        if self.is_mounted:
            for chart in self._smoothed_charts():
                chart.smoothing = weight

    def toggle_log(self) -> bool:
        """The loss chart between a linear and a log scale; returns True for log."""
        self.log_loss = not self.log_loss
        return self.log_loss

    def watch_log_loss(self, log: bool) -> None:
        if self.is_mounted:
            self.query_one("#chart-loss", Chart).log_y = log

    def shown_charts(self) -> list[Chart]:
        """The charts on screen now, in the grid's order."""
        return [chart for chart in self.query(Chart) if chart.display]

    def focus_chart(self, step: int) -> None:
        """Give the focus to the chart ``step`` places on (negative: back) from the focused one, wrapping."""
        charts = self.shown_charts()
        if not charts:
            return
        focused = self.screen.focused
        index = charts.index(focused) if focused in charts else (-1 if step > 0 else 0)
        charts[(index + step) % len(charts)].focus()

    def toggle_zoom(self) -> None:
        """The focused chart (else the loss chart) alone over the whole dashboard, or the layout back."""
        if self.zoomed is not None:
            self.zoomed = None
            return
        focused = self.screen.focused
        chart = focused if isinstance(focused, Chart) and focused in self.query(Chart) else self.query_one("#chart-loss", Chart)
        self.zoomed = chart
        chart.focus()

    def watch_zoomed(self) -> None:
        self._arrange(force=True)

    def _fit_metric_charts(self, count: int) -> list[Chart]:
        """Exactly ``count`` metric charts (at least one): the last ones removed, or new ones mounted after them."""
        keep = max(1, count)
        for chart in self._charts[keep:]:
            if chart is self.zoomed:
                self.zoomed = None
            chart.remove()
        self._charts = self._charts[:keep]
        grid = self.query_one(Grid)
        while len(self._charts) < keep:
            chart = Chart("metric")
            grid.mount(chart, before=self.query_one("#chart-lr"))
            self._charts.append(chart)
        return self._charts

    def watch_state(self, state: DashState) -> None:
        if not self.is_mounted:
            return
        self.query_one(RunHeader).state = state
        loss_family, *metric_families = chart_families(state)
        loss_series = tuple((key, train_curve(state, key)) for key in loss_family.keys)
        metric_series = [tuple((key, train_curve(state, key)) for key in family.keys) for family in metric_families]
        lr_series = (("lr", state.lr),)
        drawn = [points for series in (loss_series, lr_series, *metric_series) for _label, points in series]
        # One x axis for every chart, growing a round number of epochs at a time.
        x_limits = epoch_limits(state, drawn)
        # Legends show the last epoch's values: steady through an epoch (a new title
        # repaints the whole chart), like the curves.
        self.query_one("#chart-loss", Chart).plot(
            loss_series, legend=tuple(epoch_value(state, label) for label, _points in loss_series), x_limits=x_limits,
            best=tuple(best_value(state, label) for label, _points in loss_series), marks=axis_marks(state),
        )  # fmt: skip
        charts = self._fit_metric_charts(len(metric_families))
        for chart, family, series in zip(charts, metric_families, metric_series):
            chart.title = family.title
            chart.smoothing = self.smoothing
            chart.plot(series, legend=tuple(epoch_value(state, label) for label, _points in series), x_limits=x_limits,
                       best=tuple(best_value(state, label) for label, _points in series))  # fmt: skip
        if not metric_families:  # loss only: the cell keeps its place, empty
            charts[0].title = "metric"
            charts[0].plot((), legend=(), x_limits=x_limits)
        self.query_one("#chart-lr", Chart).plot(lr_series, x_limits=x_limits)
        self.query_one(EventLog).lines = state.log
        self._arrange()

    def _arrange(self, force: bool = False) -> None:
        """Lay the grid out for the run's charts and the room there is; only a change restyles anything."""
        if not self.is_mounted:
            return
        grid = self.query_one(Grid)
        charts = self._charts
        wide_loss = len(self.query_one("#chart-loss", Chart).series) > 2
        layout = chart_layout(len(charts), wide_loss, grid.size.height)
        if (layout, len(charts)) == self._arranged and not force:
            return
        pages_before = self.pages
        self._layout, self._arranged = layout, (layout, len(charts))
        self.query_one(RunHeader).display = self.zoomed is None
        grid.styles.grid_size_columns = 1 if self.zoomed is not None else 2
        if self.zoomed is not None:
            grid.styles.grid_size_rows = 1
            for child in grid.children:
                child.display = child is self.zoomed
                child.styles.column_span = 1
            self.zoomed.note = "z or escape: all charts"
            return
        grid.styles.grid_size_rows = layout.rows
        self.query_one("#chart-loss", Chart).styles.column_span = 2 if layout.wide_loss else 1
        self.query_one(EventLog).styles.column_span = 2 if layout.wide_log else 1
        for child in grid.children:
            child.display = True
            if isinstance(child, Chart):
                child.note = ""
        paged = self._paged()
        for i, chart in enumerate(paged):
            chart.display = i == self.page % len(paged)
            chart.note = f"{self.NEXT_CHART_KEY} next chart {i + 1}/{len(paged)}"
        if self.pages != pages_before and self.screen.is_current:
            self.screen.refresh_bindings()  # the screen's next-chart key shows only with pages
