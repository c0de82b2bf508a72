"""Modal dialogs: yes/no confirmation and the exact learning-rate dialog."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

__all__ = ["ConfirmDialog", "LearningRateDialog"]


class ConfirmDialog(ModalScreen[bool]):
    """A question answered with y / n (or enter / escape)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]
    """y confirms, n or escape cancels."""

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class LearningRateDialog(ModalScreen["tuple[float, float] | None"]):
    """Set an exact learning rate now, and the factor ``l`` multiplies by."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without changing anything."""

    def __init__(self, current: float | None, factor: float) -> None:
        super().__init__()
        self.current = current
        self.factor = factor

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            now = f"{self.current:.3g}" if self.current is not None else "unknown"
            yield Label(f"Learning rate (now {now}); leave empty to keep it:")
            yield Input(placeholder="e.g. 0.0005", id="lr-value")
            yield Label("Factor for l (drop learning rate):")
            yield Input(value=f"{self.factor:g}", id="lr-factor")
            yield Label("", id="lr-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Apply (enter)", id="apply", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def _submit(self) -> None:
        error = self.query_one("#lr-error", Label)
        text = self.query_one("#lr-value", Input).value.strip()
        factor_text = self.query_one("#lr-factor", Input).value.strip()
        try:
            value = float(text) if text else 0.0
            factor = float(factor_text)
        except ValueError:
            error.update("enter numbers, e.g. 0.001")
            return
        if (text and not value > 0) or not 0 < factor:
            error.update("the learning rate and the factor must be positive")
            return
        self.dismiss((value, factor))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self._submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
