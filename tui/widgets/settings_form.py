"""``ConfigForm``: a scrolling form of config fields, each edit validated by ``engine.config`` before it lands.

A form lists ``FormField`` s by key path (``fit.epochs``). Typing into a field reads the
text with ``engine.config_io.parse_value`` (the rules of a config file and ``--set``),
applies it to a copy of the workspace config and validates that copy with
``engine.config_io.parse_config`` — the same pydantic models and catalogue checks as
``kwb train``. Issues for that key are shown under the field and the workspace keeps its
last valid value, but is told the field is invalid (``Workspace.note_invalid``): ``ctrl+s``
and ``t`` refuse, naming the field, until it is fixed, so typed text is never silently
dropped. A clean edit goes into the workspace (``Workspace.set``), so ``ctrl+s`` saves
it and ``t`` trains with it. The form shows every later change of the workspace, from
wherever it came (``KwbApp.config_changed_signal``).

A field shows its value faithfully or as YAML flow text (``{label: [accuracy], score: [mae]}``,
a mapping per output), never as something else: a list field's commas cannot spell a mapping,
and a select cannot hold one, so a select whose value is no single choice is a text field
until its value is one again. Text the form puts into a control is not an edit: the
``Changed`` it causes writes nothing, so opening a form never changes the config.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, cast

import yaml
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch

from engine.config_io import parse_config, parse_value
from engine.errors import ConfigError
from tui.workspace import Workspace, get_path, set_path

if TYPE_CHECKING:
    from tui.app import KwbApp

__all__ = ["FormField", "ConfigForm", "check_edit", "field_id"]


@dataclass(frozen=True)
class FormField:
    """One editable key of the config."""

    path: str
    """Dotted key path into the config, e.g. ``callbacks.early_stopping.patience``."""
    label: str
    kind: str = "value"
    """value (YAML scalar), text (string as typed), optional (text, empty = null), list
    (comma-separated strings), numbers (comma-separated values, e.g. an image size), select,
    switch (bool), toggle (a section: on = defaults, off = null) or heading (a label, no value)."""
    options: tuple[Any, ...] = ()
    """Choices of a select: strings, or None/True/False (shown as none/true/false)."""
    default: Callable[[], Any] | None = None
    """toggle: the section's value when switched on."""
    enabled_by: str | None = None
    """Disabled while the section at this key path is off (null)."""
    show_if: Callable[[Mapping[str, Any]], bool] | None = None
    """Shown only while this is true of the raw config."""
    free: bool = False
    """select: a value that is none of the options (a loss alias, ``mse``) is shown as text, like a
    mapping or list always is. Defaults to False: such a scalar shows as a blank choice, to be chosen again."""


def field_id(path: str) -> str:
    return path.replace(".", "-").replace("_", "-")


def _related(loc: str, path: str) -> bool:
    # The key itself, something inside it, or a check of the section that holds it.
    return loc == path or loc.startswith((path + ".", path + "[")) or (bool(loc) and path.startswith(loc + "."))


def _inside(loc: str, path: str) -> str:
    """Where in the value at ``path`` an issue at ``loc`` is, as a prefix: ``label[0]: `` for one output's metric."""
    return f"{loc[len(path) + 1:]}: " if loc.startswith(path + ".") else ""


def check_edit(raw: Mapping[str, Any], path: str, value: Any) -> str | None:
    """Why setting ``path`` to ``value`` makes the config invalid, or None if it does not."""
    trial = copy.deepcopy(raw)
    set_path(trial, path, value)
    try:
        parse_config(trial)
    except ConfigError as exc:
        mine = [_inside(loc, path) + msg for loc, msg in exc.issues if _related(loc, path)]
        return "; ".join(mine) or None
    return None


def parse_text(field: FormField, text: str) -> Any:
    """The value a field's text stands for; pydantic judges whether it fits."""
    if field.kind == "text":
        return text
    if field.kind == "optional":
        if text.strip().startswith("{"):  # a mapping, e.g. data.x per input: {image: img, meta: m}
            return parse_value(text.strip())
        return text.strip() or None
    if field.kind in ("list", "numbers") and text.strip().startswith(("{", "[")):
        return parse_value(text)  # YAML flow text: a mapping per output, or a list holding mappings
    if field.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if field.kind == "numbers":
        return [parse_value(part) for part in text.split(",") if part.strip()]
    return parse_value(text)


def _flow(value: Any) -> str:
    """A mapping or list as one line of YAML flow text: ``{image: img, meta: [a, b]}``."""
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 16).strip()


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return _flow(value)
    if isinstance(value, list):
        return ", ".join(str(v) if not isinstance(v, dict) else next(iter(v), "?") for v in value)
    return str(value)


def format_text(field: FormField, value: Any) -> str:
    """The text a field shows for ``value``: its own spelling where that reads back as ``value``
    (``accuracy, mae``), else a mapping or list as YAML flow text."""
    text = format_value(value)
    if isinstance(value, (dict, list)) and parse_text(field, text) != value:
        return _flow(value)
    return text


def _select_as_text(field: FormField, value: Any) -> bool:
    """True when a select cannot show ``value`` as a choice: a mapping or list, or (``free``) another value."""
    if isinstance(value, (dict, list)):
        return True
    return field.free and value is not None and not any(value is o or value == o for o in field.options)


def _option_label(value: Any) -> str:
    """A select option as YAML would spell it: none, true, false, or the string itself."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ConfigForm(VerticalScroll):
    """A form over part of the workspace config; subclasses list their ``FIELDS``."""

    FIELDS: tuple[FormField, ...] = ()
    """The fields, top to bottom."""
    can_focus = False  # the fields take focus; focusing one scrolls it into view

    class Edited(Message):
        """A valid edit went into the workspace config."""

        def __init__(self, path: str, value: Any) -> None:
            super().__init__()
            self.path = path
            self.value = value

    def compose(self) -> ComposeResult:
        for field in self.FIELDS:
            yield from self._row(field)

    def _row(self, field: FormField) -> ComposeResult:
        fid = field_id(field.path)
        if field.kind == "heading":
            yield Static(field.label, classes="form-heading", id=f"row-{fid}")
            return
        control: Widget
        if field.kind == "select":
            # Values are the labels: Textual's Select treats False as "nothing selected".
            labels = [_option_label(o) for o in field.options]
            control = Select([(o, o) for o in labels], id=f"f-{fid}", compact=True, allow_blank=True)
        elif field.kind in ("switch", "toggle"):
            control = Switch(id=f"f-{fid}", animate=False)
        else:
            control = Input(id=f"f-{fid}", compact=True)
        with Horizontal(classes="form-row", id=f"row-{fid}"):
            yield Label(field.label, classes="form-label")
            yield control
            if field.kind == "select":  # in the select's place while its value is no single choice
                text = Input(id=f"t-{fid}", compact=True)
                text.display = False
                yield text
        yield Label("", classes="form-error", id=f"err-{fid}")

    def on_mount(self) -> None:
        self._by_id = {f"{p}-{field_id(f.path)}": f for f in self.FIELDS for p in ("f", "t")}
        self._errors: dict[str, str] = {}
        """Why each field whose text is not valid is not, by key path."""
        self._echo: dict[Widget, Any] = {}
        """The value ``load`` last put into each control, until its ``Changed`` arrives: that one is no edit."""
        self.kwb.config_changed_signal.subscribe(self, self._on_config_changed, immediate=True)
        self.load()

    @property
    def kwb(self) -> KwbApp:
        return cast("KwbApp", self.app)

    @property
    def workspace(self) -> Workspace:
        return self.kwb.workspace

    @property
    def raw(self) -> Mapping[str, Any]:
        """The workspace config, to read (edits go through ``Workspace.set``)."""
        return self.workspace.raw

    def _on_config_changed(self, message: Workspace.Changed) -> None:
        self.load(message)

    # ------------------------------------------------------------ config -> widgets
    def load(self, changed: Workspace.Changed | None = None) -> None:
        """Show the workspace config; a field whose text already means that value is left alone,
        and so is one holding invalid text, unless ``changed`` touches its key."""
        raw = self.raw
        for field in self.FIELDS:
            fid = field_id(field.path)
            if field.show_if is not None:
                shown = field.show_if(raw)
                self.query_one(f"#row-{fid}").display = shown
                if field.kind != "heading":
                    self.query_one(f"#err-{fid}").display = shown and self._has_error(field)
                    # A hidden field is not part of the config: its text holds nothing back.
                    self.workspace.note_invalid(field.path, self._errors.get(field.path) if shown else None)
            if field.kind == "heading":
                continue
            value = get_path(raw, field.path)
            typed = field.path in self._errors and changed is not None and not changed.touches(field.path)
            control = self._control(field, value, typed)
            if field.enabled_by is not None:
                control.disabled = get_path(raw, field.enabled_by) is None
            if isinstance(control, Select):
                want = _option_label(value) if any(value is o or value == o for o in field.options) else Select.NULL
                if control.value != want:
                    self._put(control, want)
            elif isinstance(control, Switch):
                want_on = value is not None if field.kind == "toggle" else bool(value)
                if control.value != want_on:
                    self._put(control, want_on)
            elif typed:
                continue  # the user's text stays, with its error, until they fix it
            elif isinstance(control, Input) and parse_text(field, control.value) != value:
                self._put(control, format_text(field, value))
                self._show(field, None)

    def _control(self, field: FormField, value: Any, typed: bool) -> Widget:
        """The control that shows ``value``: a select's text field in its place while the value is no
        single choice (or the text typed there still stands), the field's own control otherwise."""
        fid = field_id(field.path)
        control = self.query_one(f"#f-{fid}")
        if field.kind != "select":
            return control
        text = self.query_one(f"#t-{fid}", Input)
        as_text = _select_as_text(field, value) or (text.display and (typed or parse_text(field, text.value) == value))
        shown, hidden = (text, control) if as_text else (control, text)
        if not shown.display:
            shown.display, hidden.display = True, False
            if hidden.has_focus:
                shown.focus()
        return shown

    def _put(self, control: Input | Select[Any] | Switch, value: Any) -> None:
        """Show ``value`` in ``control``; the ``Changed`` this causes is not the user's edit."""
        self._echo[control] = value
        control.value = value

    def _echoed(self, control: Widget, value: Any) -> bool:
        """True when ``value`` is what ``load`` put into ``control`` (the first ``Changed`` after it tells)."""
        return control in self._echo and self._echo.pop(control) == value

    def _has_error(self, field: FormField) -> bool:
        return field.path in self._errors

    def _show(self, field: FormField, error: str | None) -> None:
        fid = field_id(field.path)
        if error:
            self._errors[field.path] = error
        else:
            self._errors.pop(field.path, None)
        self.workspace.note_invalid(field.path, error)
        label = self.query_one(f"#err-{fid}", Label)
        label.update(f"⚠ {error}" if error else "")
        label.display = bool(error)
        self.query_one(f"#f-{fid}").set_class(bool(error), "invalid")

    # ------------------------------------------------------------ widgets -> config
    def on_input_changed(self, event: Input.Changed) -> None:
        field = self._by_id.get(event.input.id or "")
        if field is not None:
            event.stop()
            if event.value != event.input.value:
                return  # stale: a newer Changed is queued. Acting on it would undo that one, and
                # load() would then set the old text back: an endless ping-pong between two values.
            if self._echoed(event.input, event.value):
                return
            self._edit(field, parse_text(field, event.value))

    def on_select_changed(self, event: Select.Changed) -> None:
        field = self._by_id.get(event.select.id or "")
        if field is not None and event.value is not Select.NULL:
            event.stop()
            if event.value != event.select.value or self._echoed(event.select, event.value):
                return  # stale, as above, or shown by load()
            self._edit(field, next((o for o in field.options if _option_label(o) == event.value), event.value))

    def on_switch_changed(self, event: Switch.Changed) -> None:
        field = self._by_id.get(event.switch.id or "")
        if field is None:
            return
        event.stop()
        if self._echoed(event.switch, event.value):
            return
        if field.kind == "toggle":
            current = get_path(self.raw, field.path)
            if event.value == (current is not None):
                return
            value = (field.default() if field.default else {}) if event.value else None
        else:
            value = event.value
        self._edit(field, value)

    def _edit(self, field: FormField, value: Any) -> None:
        if value == get_path(self.raw, field.path):
            self._show(field, None)
            return
        error = check_edit(self.raw, field.path, value)
        self._show(field, error)
        if error is None:
            self.workspace.set(field.path, value)
            self.post_message(self.Edited(field.path, value))

    def set_value(self, path: str, value: Any) -> None:
        """Edit ``path`` as if typed into its field (validated, shown, applied when valid)."""
        field = next(f for f in self.FIELDS if f.path == path)
        self._edit(field, value)

    def focus_first(self) -> None:
        for widget in self.query("Input, Select, Switch"):
            if widget.focusable:
                widget.focus()
                return
