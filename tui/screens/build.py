"""Build screen: the layer stack with live output shapes and parameter counts.

Every edit goes through the engine's catalogue check at once; the shapes and
parameter counts come from ``engine.model.summarize`` (Keras) in a thread worker,
so the UI never waits on TensorFlow. A shape error is shown on its layer's row.
Rows are numbered from 0, as messages name them (``model.layers[4]``).

A model file (``m``) is checked before anything changes, loaded in a worker, and only
then replaces the layer list, which the screen keeps to give back when the path is
cleared again; the table then shows the file's layers (read only).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from engine.errors import suggest
from engine.layers import LAYERS, check_layer
from tui.screens.base import KwbScreen
from tui.screens.layer_dialogs import LayerEditor, LayerPicker, TextPrompt
from tui.screens.model_file import ModelFileSwitch
from tui.widgets.footer import KeyFooter
from tui.widgets.nav import NavBar

if TYPE_CHECKING:
    from engine.layers import LayerSpec
    from tui.app import KwbApp
    from tui.workspace import Workspace

__all__ = ["BuildScreen", "describe_args", "parse_input_shape"]

COLUMNS = ("#", "layer", "arguments", "output shape", "params")
ARGS_COLUMN = 2
"""The column that gives way (its text cut with …) so that the output shape and the params stay on screen."""


def describe_args(kwargs: dict[str, Any] | None) -> str:
    """``{units: 64, activation: relu}`` -> ``units=64 activation=relu``."""
    return " ".join(f"{k}={v}" for k, v in (kwargs or {}).items())


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


def fit_columns(rows: list[tuple[Any, ...]], width: int) -> list[int | None]:
    """Column widths for ``rows`` in ``width`` cells: each as wide as its widest cell, but the arguments column no wider than what is left."""
    natural = [max([cell_len(h), *(cell_len(str(r[i])) for r in rows)]) for i, h in enumerate(COLUMNS)]
    if width <= 0:
        return [None] * len(COLUMNS)
    others = sum(w + 2 for i, w in enumerate(natural) if i != ARGS_COLUMN)  # each cell has 1 cell of padding a side
    room = width - others - 2 - 2  # its own padding, and a vertical scrollbar's 2 cells
    widths: list[int | None] = [None] * len(COLUMNS)
    widths[ARGS_COLUMN] = max(len("arguments"), min(natural[ARGS_COLUMN], room))
    return widths


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

    class SpecRead(Message):
        """The arguments of a layer outside the catalogue, read from Keras (``spec`` None: Keras has no such layer)."""

        def __init__(self, index: int, name: str, spec: LayerSpec | None, only_if_required: bool) -> None:
            super().__init__()
            self.index = index
            self.name = name
            self.spec = spec
            self.only_if_required = only_if_required

    def __init__(self) -> None:
        super().__init__()
        self.model_files = ModelFileSwitch(self)
        """``m``: a model file instead of the layer list, and back."""

    def compose(self) -> ComposeResult:
        yield NavBar()
        yield Static(id="model-head")
        yield DataTable(id="layers", cursor_type="row", zebra_stripes=True)
        yield Static(id="model-foot")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(NavBar).current = "build"
        # Called at once on every change, so the table is redrawn before an edit moves its cursor.
        self.kwb.config_changed_signal.subscribe(self, self._on_config_changed, immediate=True)
        self._refresh()

    def on_resize(self) -> None:
        self._draw()  # the arguments column takes what the others leave

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

    @property
    def model_file(self) -> str | None:
        """The model file the config loads instead of layers (``model.path``), as written."""
        return self.model_files.current

    def _set_layers(self, layers: list[dict[str, Any]], select: int | None = None) -> None:
        self.workspace.set("model.layers", layers)
        if select is not None and layers:
            self.query_one(DataTable).move_cursor(row=max(0, min(select, len(layers) - 1)))

    def _on_config_changed(self, message: Workspace.Changed) -> None:
        self._refresh()  # any key may change what Keras makes of the model (the data's shapes, for one)

    def _refresh(self) -> None:
        cached = self.model_files.cached_summary()
        if cached is not None:
            self.computing = False
            self.summary = cached  # the file just loaded: no second load to show it
            return
        self._draw()
        self.computing = True
        self._summarize(self.workspace.copy())

    # ------------------------------------------------------------ drawing
    def _layer_rows(self) -> list[tuple[Any, ...]]:
        summary = self.summary
        rows = {r.index: r for r in summary.rows} if summary is not None else {}
        out = []
        for i, entry in enumerate(self.stack):
            name, kwargs = next(iter(entry.items())) if isinstance(entry, dict) and entry else ("?", {})
            issues = check_layer(i, entry)
            info = rows.get(i)
            shape = "…" if self.computing else info.output_shape if info is not None else "?"
            params = f"{info.params:,}" if info is not None and not self.computing else ""
            error = "; ".join(m for _l, m in issues) or (info.error if info is not None else None)
            label = Text(name, style="bold red" if error else "bold")
            args = Text(f"⚠ {error}", style="red") if error else Text(describe_args(kwargs))
            out.append((str(i), label, args, shape, params))
        return out

    def _file_rows(self) -> list[tuple[Any, ...]]:
        summary = self.summary
        if summary is None or self.computing:
            return []
        return [
            (str(i), Text(r.class_name, style="bold"), Text(f"name={r.name}", style="dim"), r.output_shape, f"{r.params:,}")
            for i, r in enumerate(summary.rows)
        ]

    def _draw(self) -> None:
        table = self.query_one(DataTable)
        rows = self._file_rows() if self.model_file else self._layer_rows()
        row = table.cursor_row
        # Columns made anew each time: a DataTable column only ever grows, and one long
        # error would otherwise keep the output shape and the params off screen for good.
        table.clear(columns=True)
        widths = fit_columns(rows, table.scrollable_content_region.width)
        for label, width in zip(COLUMNS, widths):
            table.add_column(label, width=width)
        args_width = widths[ARGS_COLUMN]
        for cells in rows:
            args = cells[ARGS_COLUMN].copy()
            if args_width is not None:
                args.truncate(args_width, overflow="ellipsis")
            table.add_row(*cells[:ARGS_COLUMN], args, *cells[ARGS_COLUMN + 1 :])
        if rows:
            table.move_cursor(row=min(row, len(rows) - 1))
        model = self.raw_model
        head = Text.assemble(("input ", "dim"), (str(model.get("input_shape") or "from data"), "bold"))
        if self.model_file:
            head = Text.assemble(("model file ", "dim"), (self.model_file, "bold"), ("   m: back to the layer list", "dim"))
        self.query_one("#model-head", Static).update(head)
        self.query_one("#model-foot", Static).update(self._footer_text())

    def _footer_text(self) -> Text:
        if self.computing:
            return Text("loading the model file…" if self.model_file else "computing shapes with Keras…", style="dim")
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

        base = self.workspace.path.parent if self.workspace.path is not None else None
        try:
            cfg = parse_config(raw, base_dir=base)
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

    @on(ModelFileSwitch.Read)
    def _model_file_read(self, message: ModelFileSwitch.Read) -> None:
        self.model_files.on_read(message)

    @work(thread=True, exclusive=True, group="layer-spec", exit_on_error=False)
    def _read_spec(self, index: int, name: str, only_if_required: bool) -> None:
        self.kwb.wait_first_frame()
        from engine.layers import keras_layer_spec

        self.post_message(self.SpecRead(index, name, keras_layer_spec(name), only_if_required))

    @on(SpecRead)
    def _spec_read(self, message: SpecRead) -> None:
        entry = self.stack[message.index] if message.index < len(self.stack) else None
        if not isinstance(entry, dict) or next(iter(entry), None) != message.name:
            return  # the layer moved or went meanwhile
        if message.spec is None:
            from engine.layers import keras_layer_names

            known = [*LAYERS, *keras_layer_names()]
            self.notify(f"Keras has no layer {message.name!r}{suggest(message.name, known)}", severity="error")
            return
        kwargs = next(iter(entry.values())) or {}
        if message.only_if_required and all(a.name in kwargs for a in message.spec.args if a.required):
            return
        self._push_editor(message.index, message.spec)

    # ------------------------------------------------------------ actions
    def _cursor(self) -> int | None:
        return self.query_one(DataTable).cursor_row if self.stack else None

    def _editable(self) -> bool:
        """False (and says why) while the model comes from a file."""
        if self.model_file:
            self.notify(f"the model comes from {self.model_file}; press m and clear the path to edit the layer list",
                        severity="warning")  # fmt: skip
        return not self.model_file

    def action_add(self) -> None:
        if not self._editable():
            return

        def add(name: str | None) -> None:
            if not name:
                return
            spec = LAYERS.get(name)
            kwargs = {a.name: a.default for a in spec.args if a.required and a.default is not None} if spec else {}
            at = (self._cursor() + 1) if self._cursor() is not None else len(self.stack)
            self._set_layers([*self.stack[:at], {name: kwargs}, *self.stack[at:]], select=at)
            if spec is None:  # a Keras layer outside the catalogue: ask for what its signature requires
                self._read_spec(at, name, True)

        self.app.push_screen(LayerPicker(), add)

    @on(DataTable.RowSelected, "#layers")
    def _row_selected(self) -> None:
        self.action_edit()  # enter on a row (the table takes enter before the screen's binding)

    def action_edit(self) -> None:
        index = self._cursor()
        if index is None or not self._editable():
            return
        entry = self.stack[index]
        name = next(iter(entry), None) if isinstance(entry, dict) and len(entry) == 1 else None
        if name is None:
            self.notify(f"model.layers[{index}] is not a {{LayerName: {{arguments}}}} entry; fix it in the YAML", severity="error")
        elif name in LAYERS:
            self._push_editor(index, LAYERS[name])
        else:
            self._read_spec(index, name, False)  # its arguments come from Keras' signature

    def _push_editor(self, index: int, spec: LayerSpec) -> None:
        def save(kwargs: dict[str, Any] | None) -> None:
            if kwargs is None:
                return
            layers = list(self.stack)
            layers[index] = {spec.name: kwargs}
            self._set_layers(layers, select=index)

        self.app.push_screen(LayerEditor(index, self.stack[index], spec), save)

    def action_remove(self) -> None:
        index = self._cursor()
        if index is not None and self._editable():
            self._set_layers(self.stack[:index] + self.stack[index + 1 :], select=index)

    def action_move(self, step: int) -> None:
        index = self._cursor()
        if index is None or not self._editable():
            return
        to = index + step
        if 0 <= to < len(self.stack):
            layers = list(self.stack)
            layers[index], layers[to] = layers[to], layers[index]
            self._set_layers(layers, select=to)

    def action_duplicate(self) -> None:
        index = self._cursor()
        if index is not None and self._editable():
            layers = list(self.stack)
            layers.insert(index + 1, copy.deepcopy(layers[index]))
            self._set_layers(layers, select=index + 1)

    def action_input_shape(self) -> None:
        current = self.raw_model.get("input_shape")

        def check(text: str) -> str | None:
            return parse_input_shape(text)[1]

        def apply(text: str | None) -> None:
            if text is not None:
                self.workspace.set("model.input_shape", parse_input_shape(text)[0])

        question = "Input shape: one sample, without the batch dimension, e.g. [28, 28, 1] or [2]. Leave it empty to take it from the data."
        self.app.push_screen(TextPrompt(question, str(current or ""), "[2]", check), apply)

    def action_load_model(self) -> None:
        self.model_files.prompt()
