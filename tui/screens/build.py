"""Build screen: the layer stack with live output shapes and parameter counts.

Every edit goes through the engine's catalogue check at once; the shapes and
parameter counts come from ``engine.model.summarize`` (Keras) in a thread worker,
so the UI never waits on TensorFlow. A shape error is shown on its layer's row.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from engine.layers import LAYERS, check_layer
from tui.screens.base import KwbScreen
from tui.screens.layer_dialogs import LayerEditor, LayerPicker, TextPrompt
from tui.widgets.footer import KeyFooter
from tui.widgets.nav import NavBar

if TYPE_CHECKING:
    from tui.app import KwbApp
    from tui.workspace import Workspace

__all__ = ["BuildScreen", "describe_args"]


def describe_args(kwargs: dict[str, Any] | None) -> str:
    """``{units: 64, activation: relu}`` -> ``units=64 activation=relu``."""
    return " ".join(f"{k}={v}" for k, v in (kwargs or {}).items())


class BuildScreen(KwbScreen):
    """The model's layers, editable from the keyboard."""

    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("enter,e", "edit", "Edit"),
        Binding("x,delete", "remove", "Remove"),
        Binding("[", "move(-1)", "Up"),
        Binding("]", "move(1)", "Down"),
        Binding("d", "duplicate", "Dup"),
        Binding("i", "input_shape", "Input", show=False),
        Binding("m", "load_model", "Load file", show=False),
    ]
    """Layer editing keys; i sets the input shape, m loads a .keras/.h5 model instead."""

    summary: reactive[Any] = reactive(None, always_update=True)
    """The last ``ModelSummary`` from Keras; None until the first one arrives."""
    computing: reactive[bool] = reactive(False)
    """True while Keras is computing shapes for the latest edit."""

    class SummaryReady(Message):
        """Keras finished computing shapes (``summary``) or failed (``error``)."""

        def __init__(self, summary: Any, error: str | None = None) -> None:
            super().__init__()
            self.summary = summary
            self.error = error

    def compose(self) -> ComposeResult:
        yield NavBar()
        yield Static(id="model-head")
        yield DataTable(id="layers", cursor_type="row", zebra_stripes=True)
        yield Static(id="model-foot")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(NavBar).current = "build"
        table = self.query_one(DataTable)
        table.add_columns("#", "layer", "arguments", "output shape", "params")
        # Called at once on every change, so the table is redrawn before an edit moves its cursor.
        self.kwb.config_changed_signal.subscribe(self, self._on_config_changed, immediate=True)
        self._refresh()

    # ------------------------------------------------------------ model access
    @property
    def kwb(self) -> KwbApp:
        return cast("KwbApp", self.app)

    @property
    def workspace(self) -> Workspace:
        return self.kwb.workspace

    @property
    def raw_model(self) -> dict[str, Any]:
        """The config's ``model`` section, to read."""
        return self.workspace.raw.get("model") or {}

    @property
    def stack(self) -> list[dict[str, Any]]:
        """The layer list, to read; edits build a new list and hand it to :meth:`_set_layers`."""
        return self.raw_model.get("layers") or []

    def _set_layers(self, layers: list[dict[str, Any]], select: int | None = None) -> None:
        self.workspace.set("model.layers", layers)
        if select is not None and layers:
            self.query_one(DataTable).move_cursor(row=max(0, min(select, len(layers) - 1)))

    def _on_config_changed(self, message: Workspace.Changed) -> None:
        self._refresh()  # any key may change what Keras makes of the model (the data's shapes, for one)

    def _refresh(self) -> None:
        self._draw()
        self.computing = True
        self._summarize(self.workspace.copy())

    # ------------------------------------------------------------ drawing
    def _draw(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        summary = self.summary
        rows = {r.index: r for r in summary.rows} if summary is not None else {}
        for i, entry in enumerate(self.stack):
            name, kwargs = next(iter(entry.items())) if isinstance(entry, dict) and entry else ("?", {})
            issues = check_layer(i, entry)
            info = rows.get(i)
            shape = info.output_shape if info is not None and not self.computing else "…"
            params = f"{info.params:,}" if info is not None and not self.computing else ""
            error = "; ".join(m for _l, m in issues) or (info.error if info is not None else None)
            label = Text(name, style="bold red" if error else "bold")
            args = Text(describe_args(kwargs))
            if error:
                args = Text(f"⚠ {error}", style="red")
            table.add_row(str(i + 1), label, args, shape, params)
        if self.stack:
            table.move_cursor(row=min(row, len(self.stack) - 1))
        model = self.raw_model
        head = Text.assemble(("input ", "dim"), (str(model.get("input_shape") or "from data"), "bold"))
        if model.get("path"):
            head = Text.assemble(("model file ", "dim"), (str(model["path"]), "bold"))
        self.query_one("#model-head", Static).update(head)
        self.query_one("#model-foot", Static).update(self._footer_text())

    def _footer_text(self) -> Text:
        if self.computing:
            return Text("computing shapes with Keras…", style="dim")
        summary = self.summary
        if summary is None:
            return Text("")
        text = Text.assemble(("total ", "dim"), (f"{summary.total_params:,}", "bold"), (" params", "dim"))
        if summary.error:
            text.append(f"   ⚠ {summary.error}", style="bold red")
        return text

    def watch_summary(self) -> None:
        if self.is_mounted:
            self._draw()

    # ------------------------------------------------------------ Keras, off the UI thread
    @work(thread=True, exclusive=True, group="summary", exit_on_error=False)
    def _summarize(self, raw: dict[str, Any]) -> None:
        from tui.threads import lower_thread_priority

        lower_thread_priority()
        self.kwb.wait_first_frame()  # Keras' import would delay it
        from engine.config_io import parse_config
        from engine.errors import ConfigError

        try:
            cfg = parse_config(raw)
        except ConfigError as exc:
            self.post_message(self.SummaryReady(None, "; ".join(f"{k}: {m}" for k, m in exc.issues[:2])))
            return
        from engine.model import summarize

        try:
            self.post_message(self.SummaryReady(summarize(cfg)))
        except Exception as exc:  # summarize never raises by contract; still, show it
            self.post_message(self.SummaryReady(None, f"{type(exc).__name__}: {exc}"))

    def on_build_screen_summary_ready(self, message: "BuildScreen.SummaryReady") -> None:
        self.computing = False
        if message.error is not None:
            from engine.model import ModelSummary

            self.summary = ModelSummary(error=message.error)
        else:
            self.summary = message.summary

    # ------------------------------------------------------------ actions
    def _cursor(self) -> int | None:
        return self.query_one(DataTable).cursor_row if self.stack else None

    def action_add(self) -> None:
        def add(name: str | None) -> None:
            if not name:
                return
            spec = LAYERS[name]
            kwargs = {a.name: a.default for a in spec.args if a.required and a.default is not None}
            at = (self._cursor() + 1) if self._cursor() is not None else len(self.stack)
            self._set_layers([*self.stack[:at], {name: kwargs}, *self.stack[at:]], select=at)

        self.app.push_screen(LayerPicker(), add)

    def action_edit(self) -> None:
        index = self._cursor()
        if index is None:
            return

        def save(kwargs: dict[str, Any] | None) -> None:
            if kwargs is None:
                return
            name = next(iter(self.stack[index]))
            layers = list(self.stack)
            layers[index] = {name: kwargs}
            self._set_layers(layers, select=index)

        self.app.push_screen(LayerEditor(index, self.stack[index]), save)

    def action_remove(self) -> None:
        index = self._cursor()
        if index is not None:
            self._set_layers(self.stack[:index] + self.stack[index + 1 :], select=index)

    def action_move(self, step: int) -> None:
        index = self._cursor()
        if index is None:
            return
        to = index + step
        if 0 <= to < len(self.stack):
            layers = list(self.stack)
            layers[index], layers[to] = layers[to], layers[index]
            self._set_layers(layers, select=to)

    def action_duplicate(self) -> None:
        index = self._cursor()
        if index is not None:
            layers = list(self.stack)
            layers.insert(index + 1, copy.deepcopy(layers[index]))
            self._set_layers(layers, select=index + 1)

    def action_input_shape(self) -> None:
        current = self.raw_model.get("input_shape")

        def apply(text: str | None) -> None:
            if text is None:
                return
            from engine.config_io import parse_value

            value = parse_value(text)
            if isinstance(value, int):
                value = [value]
            if value is not None and not (isinstance(value, list) and all(isinstance(d, int) and d > 0 for d in value)):
                self.notify(f"input shape must be a list of positive integers, got {text!r}", severity="error")
                return
            self.workspace.set("model.input_shape", value)

        self.app.push_screen(
            TextPrompt("Input shape (one sample, no batch dimension), e.g. [28, 28, 1]; empty = from data:",
                       str(current or ""), "[2]"),
            apply,
        )

    def action_load_model(self) -> None:
        def apply(text: str | None) -> None:
            if text is None:
                return
            text = text.strip()
            if text:
                self.workspace.update({"model.path": text, "model.layers": []})
            else:
                self.workspace.set("model.path", None)

        self.app.push_screen(
            TextPrompt("Load a model file (.keras or .h5) instead of the layer list; empty = use layers:",
                       str(self.raw_model.get("path") or ""), "model.keras"),
            apply,
        )
