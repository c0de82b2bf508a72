"""The training dashboard: progress, loss/metric/learning-rate charts and the event log."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Grid
from textual.reactive import var
from textual.widget import Widget

from tui.state import DashState
from tui.widgets.chart import Chart, epoch_axis_end
from tui.widgets.event_log import EventLog
from tui.widgets.run_header import RunHeader

__all__ = ["Dashboard", "epoch_limits", "epoch_value", "metric_names"]


def metric_names(state: DashState) -> list[str]:
    """Training metrics other than the loss, in the order the run reported them."""
    names = [m for m in state.metrics if m != "loss"]
    for key in list(state.batch) + list(state.history):
        base = key[4:] if key.startswith("val_") else key
        if base != "loss" and base not in names:
            names.append(base)
    return names


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


def epoch_limits(state: DashState, curves: list[tuple[tuple[float, float], ...]]) -> tuple[float, float] | None:
    """The epoch axis of a run's charts: from its first epoch to the next round number past the epochs seen."""
    drawn = [points for points in curves if points]
    if not drawn:
        return None
    start = float(math.floor(min(points[0][0] for points in drawn)))
    seen = max(max(points[-1][0] for points in drawn), state.epoch + (1 if state.active else 0))
    return start, start + epoch_axis_end(seen - start, state.epochs - int(start))


class Dashboard(Widget):
    """Everything about one run, drawn from a single immutable ``DashState``.

    Args:
        live: shows the app's current run (the Train screen), not a recorded one. Defaults to False.
    """

    DEFAULT_CSS = """
    Dashboard { layout: vertical; height: 1fr; }
    Dashboard > Grid { grid-size: 2 2; grid-columns: 1fr 1fr; grid-rows: 1fr 1fr; height: 1fr; }
    """

    # A ``var``: the dashboard draws nothing itself, and repainting it would repaint
    # every child (the whole screen's worth of terminal output) on each update.
    state: var[DashState] = var(DashState, always_update=True)
    """The run to show; assigning a new state redraws the children whose content changed."""

    def __init__(self, *, live: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.live = live

    def compose(self) -> ComposeResult:
        yield RunHeader(live=self.live)
        with Grid():
            yield Chart("loss", id="chart-loss")
            yield Chart("metric", id="chart-metric")
            yield Chart("learning rate", log_y=True, id="chart-lr")
            yield EventLog()

    def on_mount(self) -> None:
        self.watch_state(self.state)

    def watch_state(self, state: DashState) -> None:
        if not self.is_mounted:
            return
        self.query_one(RunHeader).state = state
        loss_series = (("loss", train_curve(state, "loss")), ("val_loss", state.history.get("val_loss", ())))
        names = metric_names(state)
        metric_series: tuple = ()
        if names:
            name = names[0]
            metric_series = ((name, train_curve(state, name)), (f"val_{name}", state.history.get(f"val_{name}", ())))
        lr_series = (("lr", state.lr),)
        # One x axis for the three charts, growing a round number of epochs at a time.
        x_limits = epoch_limits(state, [points for _label, points in loss_series + metric_series + lr_series])
        # Legends show the last epoch's values: steady through an epoch (a new title
        # repaints the whole chart), like the curves.
        self.query_one("#chart-loss", Chart).plot(
            loss_series, legend=tuple(epoch_value(state, label) for label, _points in loss_series), x_limits=x_limits
        )
        metric = self.query_one("#chart-metric", Chart)
        if names:
            metric.title = names[0]
        metric.plot(
            metric_series, legend=tuple(epoch_value(state, label) for label, _points in metric_series), x_limits=x_limits
        )
        self.query_one("#chart-lr", Chart).plot(lr_series, x_limits=x_limits)
        self.query_one(EventLog).lines = state.log
