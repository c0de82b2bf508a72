"""Dialogs that keep a person's work: save / discard / cancel before it would be lost, and a file path to save as or open."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

__all__ = ["UnsavedDialog", "PathDialog"]


class UnsavedDialog(ModalScreen[str]):
    """The config has unsaved edits: save them, discard them, or cancel what was about to happen.

    Dismissed with ``"save"``, ``"discard"`` or ``"cancel"``."""

    BINDINGS = [
        Binding("s", "answer('save')", "Save"),
        Binding("d", "answer('discard')", "Discard"),
        Binding("c,escape", "answer('cancel')", "Cancel"),
    ]
    """s saves, d discards the edits, c or escape goes back to editing."""

    def __init__(self, name: str, doing: str) -> None:
        """``name``: the config (``long.yaml``); ``doing``: what waits on the answer (``quitting``)."""
        super().__init__()
        self.config_name = name
        self.doing = doing

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"{self.config_name} has unsaved changes. Save them before {self.doing}?", id="unsaved-question")
            with Horizontal(classes="buttons"):
                yield Button("Save (s)", id="save", variant="primary")
                yield Button("Discard (d)", id="discard", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.dismiss("save")

    @on(Button.Pressed, "#discard")
    def _discard(self) -> None:
        self.dismiss("discard")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss("cancel")

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)


class PathDialog(ModalScreen["Path | None"]):
    """Ask for a file path (save as, open); stays open, saying why, until the path is one ``check`` accepts.

    ``check(path)`` returns why that path will not do, or None. With ``confirm_overwrite``
    an existing file other than ``current`` must be entered twice to be replaced.
    ``cursor_blink`` is the app's setting (off for snapshot tests)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without a path."""

    def __init__(
        self,
        prompt: str,
        value: str,
        check: Callable[[Path], str | None] = lambda path: None,
        confirm_overwrite: bool = False,
        current: Path | None = None,
        action: str = "Save",
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.cursor_blink = cursor_blink
        self.prompt = prompt
        self.value = value
        self.check = check
        self.confirm_overwrite = confirm_overwrite
        self.current = current
        self.action = action
        self._confirmed: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.prompt, id="path-prompt")
            yield Input(value=self.value, id="path-input")
            yield Label("", id="path-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.action} (enter)", id="ok", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = self.cursor_blink
        field.focus()

    def _submit(self) -> None:
        error = self.query_one("#path-error", Label)
        text = self.query_one(Input).value.strip()
        if not text:
            error.update("enter a file path, e.g. configs/mine.yaml")
            return
        path = Path(text).expanduser().resolve()
        reason = self.check(path) if not path.is_dir() else f"{text} is a folder; enter a file name in it"
        if reason:
            error.update(reason)
            return
        replacing = self.confirm_overwrite and path.exists() and path != self.current
        if replacing and self._confirmed != path:
            self._confirmed = path
            error.update(f"{text} exists: press enter again to replace it")
            return
        self.dismiss(path)

    @on(Input.Changed, "#path-input")
    def _typed(self) -> None:
        self._confirmed = None
        self.query_one("#path-error", Label).update("")

    @on(Input.Submitted, "#path-input")
    def _entered(self) -> None:
        self._submit()

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self._submit()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
