"""The evaluation report of one run as a dialog (``e`` on the Train screen after a run, and on the Runs screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from tui.widgets.report_view import ReportView

__all__ = ["ReportScreen", "load_report"]


def load_report(run_path: str | Path) -> dict[str, Any] | None:
    """The run's ``report.json`` (``engine.report.read_report``: None when missing or unreadable)."""
    from engine.report import read_report

    return read_report(run_path)


class ReportScreen(ModalScreen[None]):
    """One run's report, scrollable; Escape, e or q closes it.

    Args:
        report: the report as ``report.json`` holds it, or None (the run has none).
        title: what the border names (the run id).
    """

    DEFAULT_CSS = """
    ReportScreen > #report-box {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    BINDINGS = [Binding("escape,e,q", "dismiss", "Close")]
    """Escape, e or q close the report."""

    def __init__(self, report: dict[str, Any] | None, title: str = "") -> None:
        super().__init__()
        self._report, self._title = report, title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="report-box") as box:
            box.border_title = f"report {self._title}".strip()
            box.border_subtitle = "esc close"
            yield ReportView()

    def on_mount(self) -> None:
        self.query_one(ReportView).report = self._report
        self.query_one("#report-box").focus()
