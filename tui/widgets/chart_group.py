"""Reading a group of charts side by side (the Runs overlay) the way the dashboard reads its own.

``ChartGroup`` wraps the container holding the charts and offers the dashboard's reading
methods under the same names (``cycle_smoothing``, ``toggle_log``, ``toggle_zoom``,
``focus_chart``, ``zoomed``), so a screen binds ``Dashboard.CHART_BINDINGS`` once and hands
each action to whichever it shows. The state lives on the charts themselves (their
``smoothing``, ``log_y`` and ``display``); the group keeps none.
"""

from __future__ import annotations

from textual.widget import Widget

from engine.smoothing import next_weight
from tui.widgets.chart import Chart

__all__ = ["ChartGroup"]

ZOOM_NOTE = "z or escape: all charts"
"""Written in a zoomed chart's bottom border."""


class ChartGroup:
    """The charts in ``container``: the first is the loss chart (``Y`` puts it on a log scale)."""

    def __init__(self, container: Widget) -> None:
        self.container = container

    @property
    def charts(self) -> list[Chart]:
        return list(self.container.query(Chart))

    @property
    def zoomed(self) -> Chart | None:
        """The chart shown alone, or None."""
        shown = [chart for chart in self.charts if chart.display]
        return shown[0] if len(shown) == 1 and len(self.charts) > 1 else None

    def cycle_smoothing(self) -> float:
        """Every chart's smoothing to the next weight (off → 0.6 → 0.9 → 0.99 → off); returns it."""
        charts = self.charts
        weight = next_weight(charts[0].smoothing) if charts else 0.0
        for chart in charts:
            chart.smoothing = weight
        return weight

    def toggle_log(self) -> bool:
        """The first (loss) chart between a linear and a log scale; returns True for log."""
        chart = self.charts[0]
        chart.log_y = not chart.log_y
        return chart.log_y

    def toggle_zoom(self) -> None:
        """The focused chart (else the first) alone, or every chart back."""
        charts = self.charts
        if self.zoomed is not None:
            for chart in charts:
                chart.display = True
                chart.note = ""
            return
        focused = self.container.screen.focused
        target = focused if focused in charts else charts[0]
        for chart in charts:
            chart.display = chart is target
        target.note = ZOOM_NOTE
        target.focus()

    def focus_chart(self, step: int) -> None:
        """The focus ``step`` charts on from the focused one (wrapping)."""
        charts = [chart for chart in self.charts if chart.display]
        if charts:
            focused = self.container.screen.focused
            index = charts.index(focused) if focused in charts else (-1 if step > 0 else 0)
            charts[(index + step) % len(charts)].focus()
