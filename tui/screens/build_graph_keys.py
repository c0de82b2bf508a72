"""The Build screen's graph keys: name a layer, choose its inputs, add a merge layer, mark an output, the model's inputs.

A mixin of ``BuildScreen`` (which owns the state): each key asks in a dialog
(``tui.screens.graph_dialogs``, ``TextPrompt``), ``tui.screens.graph_edits`` computes the
edit, and the screen's ``_apply`` hands it to the workspace as one change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.graph_spec import layer_class
from tui.screens import graph_edits as edits
from tui.screens.graph_dialogs import ChoicePicker, InputsPicker
from tui.screens.layer_dialogs import TextPrompt

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["GraphKeys", "parse_input_shape"]


def parse_input_shape(text: str) -> tuple[list[int] | None, str | None]:
    """``"[28, 28, 1]"`` -> ``([28, 28, 1], None)``; ``""`` -> ``(None, None)`` (from the data); else ``(None, why)``."""
    from engine.config_io import parse_value

    value = parse_value(text)
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if value is None:
        return None, None
    if isinstance(value, list) and value and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value):
        return value, None
    return None, f"must be a list of positive integers, e.g. [28, 28, 1]; got {text.strip()!r}"


class GraphKeys:
    """The graph keys' actions; the screen provides ``raw_model``, ``stack``, ``_cursor``, ``_editable`` and ``_apply``."""

    if TYPE_CHECKING:  # what the screen provides (no stubs at run time: they would hide the screen's own)
        app: App[Any]
        raw_model: dict[str, Any]
        stack: list[dict[str, Any]]

        def _cursor(self) -> int | None: ...
        def _editable(self) -> bool: ...
        def _apply(self, changes: dict[str, Any], select: int | None = None) -> None: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...

    def action_name(self) -> None:
        index = self._cursor() if self._editable() else None
        if index is None:
            return
        model = self.raw_model
        current = edits.entry_name(self.stack[index]) or ""

        def apply(text: str | None) -> None:
            if text is not None:
                self._apply(edits.rename(self.raw_model, index, text), select=index)

        question = (f"Name of model.layers[{index}] ({layer_class(self.stack[index])}): other layers take it as an input "
                    "by this name, and an output's loss, metrics and data are keyed by it. Empty: no name.")  # fmt: skip
        taken = {n for n in map(edits.entry_name, self.stack) if n} | set(edits.input_names(model))
        hint = edits.unique_name(layer_class(self.stack[index]) or "layer", taken)
        self.app.push_screen(TextPrompt(question, current, hint, lambda t: edits.name_problem(self.raw_model, index, t)), apply)

    def action_wire(self) -> None:
        index = self._cursor() if self._editable() else None
        if index is None:
            return
        entry = self.stack[index]
        current = entry.get("inputs") or []

        def apply(chosen: list[str] | None) -> None:
            if chosen is not None:
                self._apply(edits.set_inputs(self.raw_model, index, chosen), select=index)

        question = f"What model.layers[{index}] ({layer_class(entry)}) takes:"
        picker = InputsPicker(question, edits.choices_above(self.raw_model, index), list(current) if isinstance(current, list) else [current])
        self.app.push_screen(picker, apply)

    def action_merge(self) -> None:
        if not self._editable():
            return
        at = (self._cursor() + 1) if self._cursor() is not None else 0

        def chosen_class(cls: str | None) -> None:
            if not cls:
                return

            def chosen_inputs(refs: list[str] | None) -> None:
                if refs is None:
                    return
                model = self.raw_model
                layers = list(self.stack)
                taken = {n for n in map(edits.entry_name, layers) if n} | set(edits.input_names(model))
                layers.insert(at, {cls: {}, "name": edits.unique_name(cls, taken)})
                model["layers"] = layers
                self._apply(edits.set_inputs(model, at, refs), select=at)

            question = f"{cls} of: mark two or more in order (space)"
            self.app.push_screen(InputsPicker(question, edits.choices_above(self.raw_model, at), []), chosen_inputs)

        merges = [(m, f"{m:<12} {about}") for m, about in edits.MERGE_LAYERS.items()]
        self.app.push_screen(ChoicePicker("Add a merge layer below the selected one: which?", merges), chosen_class)

    def action_output(self) -> None:
        index = self._cursor() if self._editable() else None
        if index is None:
            return
        changes, now = edits.toggle_output(self.raw_model, index)
        if changes:
            self._apply(changes, select=index)
        name = edits.entry_name(self.stack[index]) or f"model.layers[{index}]"
        if not changes:
            self.notify(f"{name} is the model's output: the last layer is, unless o marks others", timeout=4)
        else:
            self.notify(f"{name} is {'now an output' if now else 'no longer an output'} of the model"
                        + ("; per-output losses and metrics are keyed by its name" if now else ""), timeout=4)  # fmt: skip

    def action_graph(self) -> None:
        self.show_graph = not self.show_graph

    def action_model_input(self) -> None:
        names = [n for n in (self.raw_model.get("inputs") or {})]

        def check(text: str) -> str | None:
            return _model_input(text, names)[1]

        def apply(text: str | None) -> None:
            if text is None:
                return
            (name, shape), _ = _model_input(text, names)
            change = edits.add_input(self.raw_model, name, shape) if shape else edits.remove_input(self.raw_model, name)
            self._apply(change)

        question = ("Add a model input: its name and the shape of one sample, e.g. meta [3] or image [28, 28, 1]. "
                    f"A name alone removes that input{' (' + ', '.join(names) + ')' if names else ''}.")  # fmt: skip
        self.app.push_screen(TextPrompt(question, "", "meta [3]", check), apply)

    def action_input_shape(self) -> None:
        if self.raw_model.get("inputs"):
            self.action_model_input()  # several named inputs: each has its own shape
            return
        current = self.raw_model.get("input_shape")

        def check(text: str) -> str | None:
            return parse_input_shape(text)[1]

        def apply(text: str | None) -> None:
            if text is not None:
                self._apply({"model.input_shape": parse_input_shape(text)[0]})

        question = "Input shape: one sample, without the batch dimension, e.g. [28, 28, 1] or [2]. Leave it empty to take it from the data."
        self.app.push_screen(TextPrompt(question, str(current or ""), "[2]", check), apply)


def _model_input(text: str, existing: list[str]) -> tuple[tuple[str, list[int] | None], str | None]:
    """``"meta [3]"`` -> ``(("meta", [3]), None)``; a name alone (an existing input, to remove) -> shape None; else why not."""
    name, _, rest = text.strip().partition(" ")
    if not name or not name.isidentifier():
        return ("", None), "start with the input's name (letters, digits, _), e.g. meta [3]"
    if not rest.strip():
        return ((name, None), None) if name in existing else ((name, None), f"give {name}'s shape, e.g. {name} [3]")
    shape, why = parse_input_shape(rest)
    return ((name, shape), why if why or shape else "give the shape of one sample, e.g. [3]")
