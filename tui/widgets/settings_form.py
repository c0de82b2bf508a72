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
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, cast

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


def field_id(path: str) -> str:
    return path.replace(".", "-").replace("_", "-")


def _related(loc: str, path: str) -> bool:
    # The key itself, something inside it, or a check of the section that holds it.
    return loc == path or loc.startswith((path + ".", path + "[")) or (bool(loc) and path.startswith(loc + "."))


def check_edit(raw: Mapping[str, Any], path: str, value: Any) -> str | None:
    """Why setting ``path`` to ``value`` makes the config invalid, or None if it does not."""
    trial = copy.deepcopy(raw)
    set_path(trial, path, value)
    try:
        parse_config(trial)
    except ConfigError as exc:
        mine = [msg for loc, msg in exc.issues if _related(loc, path)]
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
    if field.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if field.kind == "numbers":
        return [parse_value(part) for part in text.split(",") if part.strip()]
    return parse_value(text)


def _flow(value: Any) -> str:
    """A mapping or list as YAML flow text: ``{image: img, meta: [a, b]}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return str(value)


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return _flow(value)
    if isinstance(value, list):
        return ", ".join(str(v) if not isinstance(v, dict) else next(iter(v), "?") for v in value)
    return str(value)


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
        yield Label("", classes="form-error", id=f"err-{fid}")

    def on_mount(self) -> None:
        self._by_id = {f"f-{field_id(f.path)}": f for f in self.FIELDS}
        self._errors: dict[str, str] = {}
        """Why each field whose text is not valid is not, by key path."""
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
            control = self.query_one(f"#f-{fid}")
            if field.enabled_by is not None:
                control.disabled = get_path(raw, field.enabled_by) is None
            if isinstance(control, Select):
                want = _option_label(value) if any(value is o or value == o for o in field.options) else Select.NULL
                if control.value != want:
                    control.value = want
            elif isinstance(control, Switch):
                want_on = value is not None if field.kind == "toggle" else bool(value)
                if control.value != want_on:
                    control.value = want_on
            elif field.path in self._errors and changed is not None and not changed.touches(field.path):
                continue  # the user's text stays, with its error, until they fix it
            elif isinstance(control, Input) and parse_text(field, control.value) != value:
                control.value = format_value(value)
                self._show(field, None)

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
            self._edit(field, parse_text(field, event.value))

    def on_select_changed(self, event: Select.Changed) -> None:
        field = self._by_id.get(event.select.id or "")
        if field is not None and event.value is not Select.NULL:
            event.stop()
            if event.value != event.select.value:
                return  # stale, as above
            self._edit(field, next((o for o in field.options if _option_label(o) == event.value), event.value))

    def on_switch_changed(self, event: Switch.Changed) -> None:
        field = self._by_id.get(event.switch.id or "")
        if field is None:
            return
        event.stop()
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
