"""The learning-rate range test as a dialog (``f`` on the Train screen): progress, the curve, enter applies the suggestion.

Who owns what: the test runs in a thread worker (``engine.lr_find``; TensorFlow stays off the
UI thread) and talks to the dialog only through messages; the dialog dismisses with the
suggestion, and the Train screen writes it into the workspace config being edited.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

__all__ = ["LrFindScreen"]


class LrFindScreen(ModalScreen["float | None"]):
    """Run the range test on ``cfg``; enter returns the suggestion, escape cancels (the test stops at the next batch).

    Args:
        cfg: the validated run config (``engine.config.RunConfig``); not changed.
        steps: at most this many batches. Defaults to 100.
    """

    DEFAULT_CSS = """
    LrFindScreen > #lr-box {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    LrFindScreen Static { width: 100%; }
    """

    BINDINGS = [
        Binding("enter", "apply", "Apply", priority=True),
        Binding("escape,q", "cancel", "Cancel"),
    ]
    """Enter applies the suggestion to the config being edited; escape or q closes without applying."""

    class Progress(Message):
        """One batch done (coalesced: only the newest waits in the queue)."""

        def __init__(self, step: int, lr: float, loss: float) -> None:
            super().__init__()
            self.step, self.lr, self.loss = step, lr, loss

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LrFindScreen.Progress)

    class Finished(Message):
        """The test ended: its result (``engine.lr_find.LrFindResult``)."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    def __init__(self, cfg: Any, steps: int = 100) -> None:
        super().__init__()
        self.cfg, self.steps = cfg, steps
        self.suggestion: float | None = None
        self._cancelled = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="lr-box") as box:
            box.border_title = "learning-rate range test"
            box.border_subtitle = "enter apply · esc cancel"
            yield Static("starting (loading TensorFlow and the data)…", id="lr-status")
            yield Static("", id="lr-curve")

    def on_mount(self) -> None:
        self._run()

    @work(thread=True, exclusive=True, exit_on_error=False, group="lr-find")
    def _run(self) -> None:
        from engine.lr_find import lr_range_test

        result = lr_range_test(self.cfg, steps=self.steps, on_step=lambda s, lr, loss: self.post_message(
            self.Progress(s, lr, loss)), should_stop=lambda: self._cancelled)  # fmt: skip
        self.post_message(self.Finished(result))

    def on_lr_find_screen_progress(self, message: Progress) -> None:
        self.query_one("#lr-status", Static).update(
            f"batch {message.step}/{self.steps}   lr {message.lr:.2e}   smoothed loss {message.loss:.4g}")

    def on_lr_find_screen_finished(self, message: Finished) -> None:
        from tui.widgets.lr_find_view import lr_curve

        result = message.result
        self.suggestion = float(f"{result.suggestion:.3g}") if result.suggestion is not None else None
        width = max(40, min(86, self.app.size.width - 6))
        self.query_one("#lr-curve", Static).update(Text.from_ansi(lr_curve(result, self.suggestion, width, 16)))
        if self.suggestion is None:
            status = "no suggestion: too few finite losses (the loss was NaN from the start)"
        else:
            status = (f"suggested learning rate: {self.suggestion:.3g}  (valley rule; steepest {result.steepest:.3g})"
                      f"  — enter writes it to compile.optimizer.learning_rate")  # fmt: skip
        self.query_one("#lr-status", Static).update(Text(status, style="bold"))

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            text = getattr(error, "message", None) or str(error)
            key = getattr(error, "key", None)
            self.query_one("#lr-status", Static).update(Text(f"error: {key + ': ' if key else ''}{text}", style="red"))

    def action_apply(self) -> None:
        if self.suggestion is not None:
            self.dismiss(self.suggestion)

    def action_cancel(self) -> None:
        self._cancelled = True
        self.dismiss(None)
