"""Dialogs of the Build screen: pick a layer from the catalogue, edit one layer's arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import yaml
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from engine.config_io import parse_value
from engine.layers import LAYERS, check_layer

if TYPE_CHECKING:
    from tui.app import KwbApp

__all__ = ["LayerPicker", "LayerEditor", "TextPrompt"]


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


class LayerPicker(ModalScreen["str | None"]):
    """Type to filter the catalogue (name or category); enter adds the highlighted layer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without adding."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label("Add a layer — type to search, ↑↓ to choose, enter to add")
            yield Input(placeholder="search: dense, conv, pooling …", id="layer-search")
            yield OptionList(id="layer-options")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).cursor_blink = cast("KwbApp", self.app).cursor_blink

    def _fill(self, query: str) -> None:
        q = query.strip().lower()
        options = self.query_one(OptionList)
        options.clear_options()
        for spec in LAYERS.values():
            if not q or q in spec.name.lower() or q in spec.category:
                options.add_option(Option(f"{spec.name:<24} {spec.category}", id=spec.name))
        if options.option_count:
            options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_key(self, event: Any) -> None:
        options = self.query_one(OptionList)
        if event.key in ("down", "up") and self.query_one(Input).has_focus:
            event.stop()
            if options.option_count:
                current = options.highlighted or 0
                step = 1 if event.key == "down" else -1
                options.highlighted = max(0, min(options.option_count - 1, current + step))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._choose()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def _choose(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LayerEditor(ModalScreen["dict[str, Any] | None"]):
    """One input per argument, checked as you type; enter saves when nothing is wrong."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without changing the layer."""

    def __init__(self, index: int, entry: dict[str, Any]) -> None:
        super().__init__()
        self.index = index
        (self.layer_name, kwargs), = entry.items()
        self.kwargs: dict[str, Any] = dict(kwargs or {})
        spec = LAYERS.get(self.layer_name)
        names = [a.name for a in spec.args] if spec else []
        self.arg_names = names + [k for k in self.kwargs if k not in names]

    def compose(self) -> ComposeResult:
        spec = LAYERS.get(self.layer_name)
        with Vertical(classes="dialog editor"):
            yield Label(f"[b]{self.layer_name}[/b] (layer {self.index + 1}) — enter saves, esc cancels")
            with VerticalScroll(id="arg-fields"):
                for name in self.arg_names:
                    arg = spec.arg(name) if spec else None
                    hint = f"default {_show(arg.default) or 'none'}" + (" · required" if arg and arg.required else "") if arg else ""
                    with Horizontal(classes="arg-row"):
                        yield Label(name, classes="arg-name")
                        yield Input(value=_show(self.kwargs.get(name)), placeholder=hint, id=f"arg-{name}")
                    yield Label("", id=f"err-{name}", classes="error arg-error")
            with Horizontal(classes="buttons"):
                yield Button("Save (enter)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = cast("KwbApp", self.app).cursor_blink
        inputs = list(self.query(Input))
        if inputs:
            inputs[0].focus()

    def _values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.arg_names:
            value = parse_value(self.query_one(f"#arg-{name}", Input).value)
            if value is not None:
                out[name] = value
        return out

    def _check(self) -> bool:
        values = self._values()
        issues = dict(check_layer(self.index, {self.layer_name: values}))
        ok = True
        for name in self.arg_names:
            msg = issues.get(f"model.layers[{self.index}].{self.layer_name}.{name}", "")
            self.query_one(f"#err-{name}", Label).update(msg)
            self.query_one(f"#arg-{name}", Input).set_class(bool(msg), "invalid")
            ok = ok and not msg
        return ok

    def on_input_changed(self, event: Input.Changed) -> None:
        self._check()

    def _save(self) -> None:
        if self._check():
            self.dismiss(self._values())
        else:
            self.notify("fix the highlighted arguments first", severity="warning")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._save()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self._save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPrompt(ModalScreen["str | None"]):
    """Ask for one line of text (input shape, a model file's path)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without an answer."""

    def __init__(self, question: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = cast("KwbApp", self.app).cursor_blink

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
