"""Dialogs of the Build screen: pick a layer (the catalogue, then any Keras layer), edit one layer's arguments, answer one line.

Every dialog stays open with the reason when what was typed cannot be used, and keeps
what was typed: a refusal is shown, never a silent close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import yaml
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from engine.config_io import parse_value
from engine.errors import suggest
from engine.graph_spec import layer_class
from engine.layer_args import choices_for
from engine.layers import LAYERS, ArgSpec, LayerSpec, check_layer

if TYPE_CHECKING:
    from tui.app import KwbApp

__all__ = ["LayerPicker", "LayerEditor", "TextPrompt"]


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    except yaml.YAMLError:  # a default from a Keras signature may be any object
        return repr(value)


def _rank(name: str, query: str) -> int:
    """Where ``name`` goes among the matches for ``query``: the name itself first, then names starting with it, then the rest."""
    low = name.lower()
    return 0 if low == query else 1 if low.startswith(query) else 2 if query in low else 3


class LayerPicker(ModalScreen["str | None"]):
    """Type to filter the catalogue (name or category), then every other Keras layer; enter adds the highlighted one.

    Keras' own list of layers is read in a thread (it imports TensorFlow); until it
    arrives the catalogue works alone, and enter on a name outside it waits for the list.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without adding."""

    keras_names: list[str] | None = None
    """Every layer class Keras has, once read; None until then."""

    class KerasNames(Message):
        """Keras' layer names were read (``names``), or could not be (``error``)."""

        def __init__(self, names: list[str], error: str | None = None) -> None:
            super().__init__()
            self.names = names
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self._enter_waiting = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label("Add a layer — type to search, ↑↓ to choose, enter to add")
            yield Input(placeholder="search: dense, conv, pooling … or any Keras layer's name", id="layer-search")
            yield OptionList(id="layer-options")
            yield Label("", id="picker-message", classes="error")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).cursor_blink = cast("KwbApp", self.app).cursor_blink
        self._read_keras_names()

    @work(thread=True, exclusive=True, group="keras-names", exit_on_error=False)
    def _read_keras_names(self) -> None:
        from engine.layers import keras_layer_names

        try:
            self.post_message(self.KerasNames(keras_layer_names()))
        except Exception as exc:  # Keras failed to import: the catalogue still works
            self.post_message(self.KerasNames([], f"{type(exc).__name__}: {exc}"))

    @on(KerasNames)
    def _keras_names_read(self, message: KerasNames) -> None:
        self.keras_names = message.names
        if message.error:
            self.query_one("#picker-message", Label).update(f"only the catalogue: Keras failed to load ({message.error})")
        self._fill(self.query_one(Input).value)
        if self._enter_waiting:
            self._enter_waiting = False
            self._choose()

    def _fill(self, query: str) -> None:
        q = query.strip().lower()
        options = self.query_one(OptionList)
        options.clear_options()
        others = [n for n in self.keras_names or () if n not in LAYERS]
        as_typed = next((n for n in others if q and n.lower() == q), None)
        if as_typed:
            options.add_option(Option(f"use {as_typed} as typed — a Keras layer outside the catalogue", id=as_typed))
        matches = [s for s in LAYERS.values() if not q or q in s.name.lower() or q in s.category]
        for spec in sorted(matches, key=lambda s: _rank(s.name, q)):
            options.add_option(Option(f"{spec.name:<24} {spec.category}", id=spec.name))
        for name in sorted((n for n in others if n != as_typed and (not q or q in n.lower())), key=lambda n: _rank(n, q)):
            options.add_option(Option(f"{name:<24} keras", id=name))
        if not options.option_count and q:
            waiting = self.keras_names is None
            text = f"checking Keras for {query.strip()!r}…" if waiting else f"no layer matches {query.strip()!r}"
            options.add_option(Option(text, disabled=True))
        if options.option_count and not options.get_option_at_index(0).disabled:
            options.highlighted = 0
        self.query_one("#picker-message", Label).update("")

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
            option = options.get_option_at_index(options.highlighted)
            if not option.disabled:
                self.dismiss(option.id)
                return
        typed = self.query_one(Input).value.strip()
        message = self.query_one("#picker-message", Label)
        if not typed:
            message.update("type a layer's name")
        elif self.keras_names is None:
            self._enter_waiting = True  # answered when Keras' list arrives
            message.update(f"checking Keras for {typed!r}…")
        else:
            message.update(f"Keras has no layer {typed!r}{suggest(typed, [*LAYERS, *self.keras_names])}")

    def action_cancel(self) -> None:
        self.dismiss(None)


class LayerEditor(ModalScreen["dict[str, Any] | None"]):
    """One input per argument, checked as you type; enter saves when nothing is wrong.

    The arguments are the catalogue's first (checked), then every other argument of the
    Keras class (from ``engine.layer_args``: signature and docstring, cached per Keras
    version), plus any the layer already has. The focused field's line says what the
    argument does; names an argument takes (activations, initializers …) are suggested as
    you type. Values are read as a config file reads them (``1e-4`` is a number).
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without changing the layer."""

    class AllArguments(Message):
        """Every argument of the layer, read from Keras (or its cache) in a worker; None if it could not be read."""

        def __init__(self, spec: LayerSpec | None) -> None:
            super().__init__()
            self.spec = spec

    def __init__(self, index: int, entry: dict[str, Any], spec: LayerSpec | None = None, complete: bool = False) -> None:
        """Args:
            index: the entry's place in ``model.layers``.
            entry: the entry (its layer key, and maybe ``name`` and ``inputs``, which stay as they are).
            spec: the arguments to offer. Defaults to None (the catalogue's).
            complete: ``spec`` already lists every argument Keras has; otherwise the rest are read
                in a worker and added when they arrive. Defaults to False.
        """
        super().__init__()
        self.index = index
        self.layer_name = layer_class(entry) or "?"
        kwargs = entry.get(self.layer_name)
        self.kwargs: dict[str, Any] = dict(kwargs or {})
        self.spec = spec or LAYERS.get(self.layer_name)
        self.complete = complete
        names = [a.name for a in self.spec.args] if self.spec else []
        self.arg_names = names + [k for k in self.kwargs if k not in names]

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Vertical(classes="dialog editor"):
            yield Label(f"[b]{self.layer_name}[/b] (model.layers[{self.index}]) — enter saves, esc cancels")
            with VerticalScroll(id="arg-fields"):
                for name in self.arg_names:
                    yield from self._arg_row(name, spec.arg(name) if spec else None)
            with Horizontal(classes="buttons"):  # compact: at 80×24 a full-height pair fell off the dialog's foot
                yield Button("Save (enter)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def _arg_row(self, name: str, arg: ArgSpec | None) -> list[Any]:
        """The widgets of one argument: its name, its field (the default as placeholder, names it takes suggested), its message line."""
        hint = f"default {_show(arg.default) or 'none'}" + (" · required" if arg and arg.required else "") if arg else ""
        choices = list(arg.choices) if arg and arg.choices else list(choices_for(name))
        field = Input(value=_show(self.kwargs.get(name)), placeholder=hint, id=f"arg-{name}",
                      suggester=SuggestFromList(choices, case_sensitive=False) if choices else None)  # fmt: skip
        field.cursor_blink = cast("KwbApp", self.app).cursor_blink
        return [Horizontal(Label(name, classes="arg-name"), field, classes="arg-row"),
                Label("", id=f"err-{name}", classes="error arg-error")]  # fmt: skip

    def on_mount(self) -> None:
        inputs = list(self.query(Input))
        (inputs[0] if inputs else self.query_one("#save", Button)).focus()  # enter saves even with no argument to edit
        if not self.complete:
            self._read_all_arguments()

    @work(thread=True, exclusive=True, group="layer-args", exit_on_error=False)
    def _read_all_arguments(self) -> None:
        from engine.layer_args import layer_arguments
        from tui.terminal import cache_dir

        cast("KwbApp", self.app).wait_first_frame()
        try:
            self.post_message(self.AllArguments(layer_arguments(self.layer_name, cache_dir())))
        except Exception:  # Keras failed to load: the catalogue's arguments still work
            self.post_message(self.AllArguments(None))

    @on(AllArguments)
    def _all_arguments(self, message: AllArguments) -> None:
        if message.spec is None:
            return
        self.spec = message.spec
        new = [a for a in message.spec.args if a.name not in self.arg_names]
        self.arg_names += [a.name for a in new]
        fields = self.query_one("#arg-fields", VerticalScroll)
        for arg in new:
            fields.mount_all(self._arg_row(arg.name, arg))

    def on_descendant_focus(self, event: Any) -> None:
        self._check()  # the focused field's line shows what the argument does

    def _values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.arg_names:
            value = parse_value(self.query_one(f"#arg-{name}", Input).value)
            if value is not None:
                out[name] = value
        return out

    def _check(self) -> bool:
        values = self._values()
        base = f"model.layers[{self.index}].{self.layer_name}"
        issues = dict(check_layer(self.index, {self.layer_name: values}))
        for arg in self.spec.args if self.spec else ():
            if arg.required and arg.name not in values:  # a Keras signature's required argument
                issues.setdefault(f"{base}.{arg.name}", "is required")
        ok = True
        for name in self.arg_names:
            msg = issues.get(f"{base}.{name}", "")
            field = self.query_one(f"#arg-{name}", Input)
            arg = self.spec.arg(name) if self.spec else None
            about = arg.help if arg and field.has_focus and not msg else ""
            label = self.query_one(f"#err-{name}", Label)
            label.update(msg or about)
            label.set_class(bool(about), "about")
            field.set_class(bool(msg), "invalid")
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
    """Ask for one line of text (input shape, a model file's path).

    ``check`` returns why an answer cannot be used (None when it can): the dialog then
    stays open, shows the reason under the field and keeps what was typed.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    """escape closes without an answer."""

    def __init__(
        self, question: str, value: str = "", placeholder: str = "", check: Callable[[str], str | None] | None = None
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, id="prompt-question")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt")
            yield Label("", id="prompt-error", classes="error")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = cast("KwbApp", self.app).cursor_blink

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#prompt-error", Label).update("")
        event.input.remove_class("invalid")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        problem = self.check(event.value) if self.check else None
        if problem:
            self.query_one("#prompt-error", Label).update(problem)
            event.input.add_class("invalid")
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
