"""Dialogs of the Build screen's graph keys: choose one of a few names (a merge layer), choose a layer's inputs.

Both answer with values the screen hands to ``tui.screens.graph_edits``; escape answers None
(nothing changes).
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, SelectionList
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

__all__ = ["ChoicePicker", "InputsPicker"]


class ChoicePicker(ModalScreen["str | None"]):
    """``question``, then one of ``choices`` (value, label): ↑↓ and enter."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without a choice."""

    def __init__(self, question: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label(self.question)
            yield OptionList(*(Option(label, id=value) for value, label in self.choices), id="choices")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class InputsPicker(ModalScreen["list[str] | None"]):
    """Choose what a layer takes: space marks a name (in the order marked), enter keeps the marks.

    Nothing marked means the default: the layer above (or the model's one input).
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "done", "Done", priority=True),
    ]
    """escape closes without a change; enter keeps the marked names (space marks them)."""

    def __init__(self, question: str, choices: list[tuple[str, str]], chosen: list[str]) -> None:
        super().__init__()
        self.question = question
        self.choices = choices
        self.order: list[str] = [c for c in chosen if any(v == c for v, _ in choices)]
        """The marked names, in the order they were marked (a Concatenate's order)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label(self.question)
            yield SelectionList[str](
                *(Selection(label, value, value in self.order) for value, label in self.choices), id="inputs-choices"
            )
            yield Label("space marks, enter keeps; none: the layer above", classes="dim")
            yield Label(self._order_text(), id="inputs-order")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def _order_text(self) -> str:
        return "takes: " + (", ".join(v.removeprefix("#") if not v.startswith("#") else f"model.layers[{v[1:]}]" for v in self.order)
                            or "the layer above")  # fmt: skip

    @on(SelectionList.SelectionToggled)
    def _toggled(self, event: SelectionList.SelectionToggled[Any]) -> None:
        value = event.selection.value
        self.order = [v for v in self.order if v != value] if value in self.order else [*self.order, value]
        self.query_one("#inputs-order", Label).update(self._order_text())

    def action_done(self) -> None:
        self.dismiss(list(self.order))

    def action_cancel(self) -> None:
        self.dismiss(None)
