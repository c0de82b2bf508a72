"""Build screen: the model's layers — a stack or a graph — with live connections, output shapes and parameter counts.

Every edit goes through the engine's checks at once: the catalogue's (``check_layer``)
and the graph's (``engine.graph_spec.resolve_graph``: an unknown input, a forward
reference, two layers with one name), each shown on the offending row; the shapes and
parameter counts come from ``engine.model.summarize`` (Keras) in a thread worker, so the
UI never waits on TensorFlow, and Keras' own complaints (a merge of incompatible shapes)
land on their rows too. Rows are numbered from 0, as messages name them (``model.layers[4]``).

Graph keys (``tui.screens.graph_edits`` computes each edit, the workspace applies it): name
a layer, choose its inputs, add a model input, add a merge layer, mark an output, and
toggle a text drawing of the graph (``tui.widgets.graph_view``).

A model file (``m``, ``tui.screens.model_file``) is checked before anything changes,
loaded in a worker, and only then replaces the layer list with its layers as editable
entries; the list it replaced comes back when the path is cleared again.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from engine.errors import suggest
from engine.graph_spec import layer_class
from engine.layers import LAYERS
from tui.screens import graph_edits as edits
from tui.screens.base import KwbScreen
from tui.screens.build_graph_keys import GraphKeys, parse_input_shape
from tui.screens.build_rows import (
    ARGS_COLUMN,
    COLUMNS,
    cut_to,
    describe_args,
    fit_columns,
    graph_nodes,
    head_text,
    layer_rows,
)
from tui.screens.layer_dialogs import LayerEditor, LayerPicker
from tui.screens.model_file import ModelFileSwitch
from tui.widgets.footer import KeyFooter
from tui.widgets.graph_view import GraphView
from tui.widgets.nav import NavBar

if TYPE_CHECKING:
    from engine.layers import LayerSpec
    from tui.app import KwbApp
    from tui.workspace import Workspace

__all__ = ["BuildScreen", "describe_args", "parse_input_shape"]  # the last two re-exported, as before

class BuildScreen(GraphKeys, KwbScreen):
    """The model's layers, editable from the keyboard."""

    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("enter,e", "edit", "Edit"),
        Binding("x,delete", "remove", "Remove"),
        Binding("n", "name", "Name"),
        Binding("w", "wire", "Inputs"),
        Binding("plus", "merge", "Merge"),
        Binding("o", "output", "Output"),
        Binding("g", "graph", "Graph"),
        Binding("I", "model_input", "Add input"),
        Binding("[", "move(-1)", "Up"),
        Binding("]", "move(1)", "Down"),
        Binding("d", "duplicate", "Dup"),
        Binding("i", "input_shape", "Input shape", show=False),
        Binding("m", "load_model", "Open model file", show=False),
    ]
    """Layer editing keys. Graphs: n names the layer, w chooses its inputs (the names above it), + adds a merge
    layer, o makes it an output (or not), I adds a model input (name and shape), g shows the graph's drawing;
    i sets a plain stack's input shape, m opens a .keras/.h5 model as editable layers."""

    _shape_used: Any = None
    """The data's sample shape the last summary was computed with (``Workspace.data_shape``)."""
    summary: reactive[Any] = reactive(None, always_update=True)
    """The last ``ModelSummary`` from Keras; None until the first one arrives."""
    computing: reactive[bool] = reactive(False)
    """True while Keras is computing shapes for the latest edit."""
    show_graph: reactive[bool] = reactive(False)
    """True while the drawing of the graph is shown instead of the table (g)."""

    class SummaryReady(Message):
        """Keras finished computing shapes (``summary``) or failed (``error``) for the config ``raw``."""

        def __init__(self, raw: dict[str, Any], summary: Any, error: str | None = None) -> None:
            super().__init__()
            self.raw = raw
            """The config the summary was computed from: one that is no longer the workspace's is not drawn."""
            self.summary = summary
            self.error = error

    class SpecRead(Message):
        """Every argument of a layer, read from Keras (``spec`` None: Keras has no such layer)."""

        def __init__(self, index: int, name: str, spec: LayerSpec | None, only_if_required: bool) -> None:
            super().__init__()
            self.index = index
            self.name = name
            self.spec = spec
            self.only_if_required = only_if_required

    def __init__(self) -> None:
        super().__init__()
        self.model_files = ModelFileSwitch(self)
        """``m``: a model file's layers instead of the layer list, and back."""
        self._row_errors: list[str | None] = []
        """Each row's error as drawn (its cell may be cut), shown whole below the table for the selected row."""

    def compose(self) -> ComposeResult:
        yield NavBar()
        yield Static(id="model-head")
        yield DataTable(id="layers", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="graph-scroll"):
            yield GraphView(id="graph")
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
        return dict(self.workspace.raw.get("model") or {})

    @property
    def stack(self) -> list[dict[str, Any]]:
        """The layer list, to read; edits build a new list and hand it to :meth:`_set_layers`."""
        return self.raw_model.get("layers") or []

    @property
    def model_file(self) -> str | None:
        """The model file the config loads instead of layers (``model.path``), as written."""
        return self.model_files.current

    def _set_layers(self, layers: list[dict[str, Any]], select: int | None = None) -> None:
        self._apply({"model.layers": layers}, select)

    def _apply(self, changes: dict[str, Any], select: int | None = None) -> None:
        """One workspace change (``Workspace.Changed``), then the cursor on row ``select``."""
        self.workspace.update(changes)
        if select is not None and self.stack:
            self.query_one(DataTable).move_cursor(row=max(0, min(select, len(self.stack) - 1)))

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
        self._shape_used = self.workspace.data_shape()
        self._summarize(self.workspace.copy(), self._shape_used)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        super().on_screen_resume(event)
        if self.workspace.data_shape() != self._shape_used:  # v on the Data screen loaded the data since
            self._refresh()

    # ------------------------------------------------------------ drawing
    def _file_rows(self) -> list[tuple[Any, ...]]:
        summary = self.summary
        if summary is None or self.computing:
            return []
        return [
            (str(i), Text(r.name, style="bold"), Text(r.class_name, style="bold"), Text("(from the file)", style="dim"),
             Text(", ".join(r.inputs)), r.output_shape, f"{r.params:,}")
            for i, r in enumerate(summary.rows)
        ]  # fmt: skip

    def _draw(self) -> None:
        table = self.query_one(DataTable)
        model = self.raw_model
        rows = self._file_rows() if self.model_file else layer_rows(model, self.summary, self.computing)
        row = table.cursor_row
        # Columns made anew each time: a DataTable column only ever grows, and one long
        # error would otherwise keep the output shape and the params off screen for good.
        table.clear(columns=True)
        widths = fit_columns(rows, table.scrollable_content_region.width or self.size.width)
        for label, width in zip(COLUMNS, widths):
            table.add_column(label, width=width)
        for cells in rows:
            table.add_row(*(cut_to(cell, width) for cell, width in zip(cells, widths)))
        if rows:
            table.move_cursor(row=min(row, len(rows) - 1))
        head = head_text(model)
        if self.model_file:
            head = Text.assemble(("model file ", "dim"), (self.model_file, "bold"),
                                 ("   an edit key opens it as editable layers", "dim"))  # fmt: skip
        self.query_one("#model-head", Static).update(head)
        self._row_errors = [str(cells[ARGS_COLUMN]) if str(cells[ARGS_COLUMN]).startswith("⚠") else None for cells in rows]
        self.query_one("#model-foot", Static).update(self._footer_text())
        if self.show_graph:
            self.query_one(GraphView).nodes = graph_nodes(model, self.summary, self.computing)

    @on(DataTable.RowHighlighted, "#layers")
    def _row_highlighted(self) -> None:
        self.query_one("#model-foot", Static).update(self._footer_text())

    def _footer_text(self) -> Text:
        row = self.query_one(DataTable).cursor_row
        error = self._row_errors[row] if 0 <= row < len(self._row_errors) else None
        if error:  # the selected row's whole message (its cell may be cut)
            return Text(f"model.layers[{row}]: {error.removeprefix('⚠ ')}", style="bold red")
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

    def watch_show_graph(self, shown: bool) -> None:
        self.query_one("#graph-scroll").set_class(shown, "shown")
        self.query_one(DataTable).set_class(shown, "hidden")
        self._draw()
        # The arrows scroll a long drawing; the editing keys still act on the selected row.
        (self.query_one("#graph-scroll") if shown else self.query_one(DataTable)).focus()

    # ------------------------------------------------------------ Keras, off the UI thread
    @work(thread=True, exclusive=True, group="summary", exit_on_error=False)
    def _summarize(self, raw: dict[str, Any], data_shape: Any = None) -> None:
        from tui.threads import lower_thread_priority

        lower_thread_priority()
        self.kwb.wait_first_frame()  # Keras' import would delay it
        from engine.config_io import parse_config
        from engine.errors import ConfigError

        base = self.workspace.path.parent if self.workspace.path is not None else None
        problem = None
        try:
            cfg = parse_config(raw, base_dir=base)
        except ConfigError as exc:
            problem = "; ".join(f"{k}: {m}" for k, m in exc.issues[:2])
            if any(k.startswith("model") for k, _ in exc.issues):
                self.post_message(self.SummaryReady(raw, None, problem))
                return
            try:  # shapes come from the model section alone: a loss per output not wired yet, or data.x missing an input, hides none
                cfg = parse_config({"model": raw.get("model")}, base_dir=base)
            except ConfigError:
                self.post_message(self.SummaryReady(raw, None, problem))
                return
        from engine.model import summarize

        try:
            summary = summarize(cfg, data_shape)  # the shape v on the Data screen loaded, if it did
        except Exception as exc:  # summarize never raises by contract; still, show it
            self.post_message(self.SummaryReady(raw, None, f"{type(exc).__name__}: {exc}"))
            return
        from engine.graph import NO_INPUT_SHAPE

        if data_shape is None and summary.error == f"model.input_shape: {NO_INPUT_SHAPE}":
            summary.error = "model.input_shape: taken from the data (press v on the Data screen to read it, or i to give it)"
        summary.error = summary.error or problem
        self.post_message(self.SummaryReady(raw, summary))

    def on_build_screen_summary_ready(self, message: BuildScreen.SummaryReady) -> None:
        if message.raw != self.workspace.raw:
            # Computed for a config edited since (``a`` then ``x`` in one write: the worker for the
            # five layers ends after the one for the four). Every edit starts its own worker, so
            # while ``computing`` the current config's summary is on its way; otherwise ask anew.
            if not self.computing:
                self._refresh()
            return
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
        from engine.layer_args import layer_arguments
        from tui.terminal import cache_dir

        self.post_message(self.SpecRead(index, name, layer_arguments(name, cache_dir()), only_if_required))

    @on(SpecRead)
    def _spec_read(self, message: SpecRead) -> None:
        entry = self.stack[message.index] if message.index < len(self.stack) else None
        if layer_class(entry) != message.name:
            return  # the layer moved or went meanwhile
        if message.spec is None:
            from engine.layers import keras_layer_names

            known = [*LAYERS, *keras_layer_names()]
            self.notify(f"Keras has no layer {message.name!r}{suggest(message.name, known)}", severity="error")
            return
        kwargs = entry.get(message.name) or {}  # type: ignore[union-attr]
        if message.only_if_required and all(a.name in kwargs for a in message.spec.args if a.required):
            return
        self._push_editor(message.index, message.spec, complete=True)

    # ------------------------------------------------------------ actions
    def _cursor(self) -> int | None:
        return self.query_one(DataTable).cursor_row if self.stack else None

    def _editable(self) -> bool:
        """False while the model comes from a file (which it then opens as editable layers)."""
        if self.model_file:
            self.notify(f"opening {self.model_file} as editable layers…", timeout=3)
            self.model_files.load(self.model_file)
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
        index = self._cursor() if self._editable() else None
        if index is None:
            return
        name = layer_class(self.stack[index])
        if name is None:
            self.notify(f"model.layers[{index}] is not a {{LayerName: {{arguments}}}} entry; fix it in the YAML", severity="error")
        elif name in LAYERS:
            from engine.layer_args import cached_layer_arguments
            from tui.terminal import cache_dir

            cached = cached_layer_arguments(name, cache_dir())  # a small file: every argument, without Keras
            self._push_editor(index, cached or LAYERS[name], complete=cached is not None)
        else:
            self._read_spec(index, name, False)  # its arguments come from Keras' signature

    def _push_editor(self, index: int, spec: LayerSpec, complete: bool = False) -> None:
        def save(kwargs: dict[str, Any] | None) -> None:
            if kwargs is None:
                return
            layers = list(self.stack)
            layers[index] = edits.with_arguments(layers[index], spec.name, kwargs)
            self._set_layers(layers, select=index)

        self.app.push_screen(LayerEditor(index, self.stack[index], spec, complete), save)

    def action_remove(self) -> None:
        index = self._cursor() if self._editable() else None
        if index is not None:
            self._set_layers(self.stack[:index] + self.stack[index + 1 :], select=index)

    def action_move(self, step: int) -> None:
        index = self._cursor() if self._editable() else None
        if index is None:
            return
        to = index + step
        if 0 <= to < len(self.stack):
            layers = list(self.stack)
            layers[index], layers[to] = layers[to], layers[index]
            self._set_layers(layers, select=to)

    def action_duplicate(self) -> None:
        index = self._cursor() if self._editable() else None
        if index is not None:
            layers = list(self.stack)
            copied = copy.deepcopy(layers[index])
            if edits.entry_name(copied):  # two layers cannot share a name
                taken = {n for n in map(edits.entry_name, layers) if n} | set(edits.input_names(self.raw_model))
                copied["name"] = edits.unique_name(str(copied["name"]), taken)
            layers.insert(index + 1, copied)
            self._set_layers(layers, select=index + 1)

    def action_load_model(self) -> None:
        self.model_files.prompt()
