"""What the Build screen draws, computed from the config's ``model`` section and Keras' last summary: table rows, column widths, graph nodes.

Pure functions (no widgets), so the screen only puts them on screen. Errors come from the
engine: the catalogue's check (``check_layer``), the graph's (``resolve_graph``, by name,
no Keras) and Keras' own (the summary rows), each on the row it names.
"""

from __future__ import annotations

import re
from typing import Any

from rich.cells import cell_len
from rich.text import Text

from engine.graph_spec import layer_class, resolve_graph
from engine.layers import check_layer
from tui.screens.graph_edits import entry_name, input_names
from tui.widgets.graph_view import GraphNode

__all__ = ["COLUMNS", "ARGS_COLUMN", "cut_to", "describe_args", "fit_columns", "layer_rows", "graph_nodes", "head_text", "graph_issues"]

COLUMNS = ("#", "name", "layer", "arguments", "inputs", "output shape", "params")
ARGS_COLUMN = 3
"""The column that gives way first (its text cut with …) so that the output shape and the params stay on screen."""
GIVES_WAY = ((ARGS_COLUMN, 9), (2, 12), (1, 14), (4, 12), (1, 8), (4, 6), (2, 6))
"""(column, narrowest) in the order columns give way when the table is too wide: the arguments first (the selected
row's are under the table), then long layer classes, names and inputs in turns; shapes and params never."""


def describe_args(kwargs: dict[str, Any] | None) -> str:
    """``{units: 64, activation: relu}`` -> ``units=64 activation=relu``."""
    return " ".join(f"{k}={v}" for k, v in (kwargs or {}).items())


def fit_columns(rows: list[tuple[Any, ...]], width: int) -> list[int | None]:
    """Column widths for ``rows`` in ``width`` cells: each as wide as its widest cell, narrower in the order of
    ``GIVES_WAY`` when the table would not fit.

    Every width is given (not left to the table's own measuring, which misses rows added while a dialog covers the
    screen); None for all when the width is not known yet.
    """
    natural = [max([cell_len(h), *(cell_len(str(r[i])) for r in rows)]) for i, h in enumerate(COLUMNS)]
    if width <= 0:
        return [None] * len(COLUMNS)
    sizes = list(natural)
    excess = sum(w + 2 for w in sizes) + 2 - width  # each cell has 1 cell of padding a side; a scrollbar takes 2
    for column, least in GIVES_WAY:
        cut = min(max(excess, 0), sizes[column] - least)
        if cut > 0:
            sizes[column] -= cut
            excess -= cut
    return list(sizes)


_ROW_KEY = re.compile(r"model\.layers\[(\d+)\]\.?(.*)")


def graph_issues(model: dict[str, Any]) -> tuple[dict[int, list[str]], list[str]]:
    """The graph's problems by name (no Keras): per row (``model.layers[i]``), and the others (``model.outputs`` …)."""
    layers = model.get("layers") or []
    inputs = model.get("inputs") if isinstance(model.get("inputs"), dict) else None
    outputs = model.get("outputs") if isinstance(model.get("outputs"), list) else None
    shape = model.get("input_shape") if isinstance(model.get("input_shape"), list) else None
    _, issues = resolve_graph(inputs, shape, layers, outputs)
    rows: dict[int, list[str]] = {}
    others: list[str] = []
    for key, message in issues:
        m = _ROW_KEY.fullmatch(key)
        if m:
            rows.setdefault(int(m.group(1)), []).append(f"{m.group(2)}: {message}" if m.group(2) else message)
        else:
            others.append(f"{key}: {message}")
    return rows, others


def layer_rows(model: dict[str, Any], summary: Any, computing: bool) -> list[tuple[Any, ...]]:
    """One row per ``model.layers`` entry: #, name, layer, arguments (or its error), inputs, output shape, params."""
    by_index = {r.index: r for r in summary.rows} if summary is not None else {}
    wiring, _ = graph_issues(model)
    out = []
    for i, entry in enumerate(model.get("layers") or []):
        cls = layer_class(entry) or "?"
        kwargs = entry.get(cls) if isinstance(entry, dict) else None
        info = by_index.get(i)
        problems = [m for _k, m in check_layer(i, entry)] + wiring.get(i, [])
        error = "; ".join(problems) or (info.error if info is not None else None)
        shape = "…" if computing else info.output_shape if info is not None else "?"
        params = f"{info.params:,}" if info is not None and not computing else ""
        name = entry_name(entry)
        label = Text(cls, style="bold red" if error else "bold")
        args = Text(f"⚠ {error}", style="red") if error else Text(describe_args(kwargs if isinstance(kwargs, dict) else {}))
        out.append((str(i), Text(name or "", style="bold"), label, args, _inputs_cell(model, i), shape, params))
    return out


def _key(model: dict[str, Any], index: int) -> str:
    """How the builder refers to layer ``index``: its name, else its place (``#3``); never Keras' process-wide auto name."""
    return entry_name((model.get("layers") or [])[index]) or f"#{index}"


def default_sources(model: dict[str, Any], index: int) -> tuple[str, ...]:
    """What a layer without ``inputs`` takes: the layer above, or the model's one input for the first layer."""
    if index > 0:
        return (_key(model, index - 1),)
    names = input_names(model)
    return (names[0],) if len(names) == 1 else ()


def _inputs_cell(model: dict[str, Any], index: int) -> Text:
    """What feeds the layer: as the config lists it, else (dim) the default."""
    entry = (model.get("layers") or [])[index]
    listed = entry.get("inputs") if isinstance(entry, dict) else None
    if listed:
        return Text(", ".join(map(str, listed if isinstance(listed, list) else [listed])))
    return Text(", ".join(default_sources(model, index)) or "?", style="dim")


def _shape(shape: Any) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")" if isinstance(shape, list) else "from data"


def graph_nodes(model: dict[str, Any], summary: Any, computing: bool) -> list[GraphNode]:
    """The model's inputs and layers for the drawing: each layer's sources as the builder wires them."""
    inputs = model.get("inputs") if isinstance(model.get("inputs"), dict) else None
    shapes = inputs or {input_names(model)[0]: model.get("input_shape")}
    nodes = [GraphNode(name, "input", _shape(shape), is_input=True) for name, shape in shapes.items()]
    by_index = {r.index: r for r in summary.rows} if summary is not None else {}
    wiring, _ = graph_issues(model)
    layers = model.get("layers") or []
    outputs = model.get("outputs") if isinstance(model.get("outputs"), list) else None
    for i, entry in enumerate(layers):
        info = by_index.get(i)
        name = entry_name(entry)
        key = _key(model, i)
        listed = entry.get("inputs") if isinstance(entry, dict) else None
        sources = tuple(listed if isinstance(listed, list) else [listed]) if listed else default_sources(model, i)
        error = bool(wiring.get(i) or check_layer(i, entry) or (info is not None and info.error))
        detail = "" if computing or info is None else info.output_shape
        is_output = name in outputs if outputs and name else (not outputs and i == len(layers) - 1)
        nodes.append(GraphNode(key, layer_class(entry) or "?", detail, sources, is_output=is_output, error=error,
                               named=bool(name)))  # fmt: skip
    return nodes


def head_text(model: dict[str, Any]) -> Text:
    """The line above the table: the model's inputs and its outputs, and what is wrong with them."""
    inputs = model.get("inputs") if isinstance(model.get("inputs"), dict) else None
    text = Text()
    if inputs:
        text.append("inputs ", style="dim")
        for j, (name, shape) in enumerate(inputs.items()):
            text.append(("  " if j else "") + f"{name} ", style="bold")
            text.append(_shape(shape))
    else:
        text.append("input ", style="dim")
        text.append(str(model.get("input_shape") or "from data"), style="bold")
    outputs = model.get("outputs")
    if outputs:
        text.append("   outputs ", style="dim")
        text.append(", ".join(map(str, outputs)), style="bold")
    _, others = graph_issues(model)
    if others:
        text.append(f"   ⚠ {'; '.join(others)}", style="bold red")
    return text


def cut_to(cell: Any, width: int | None) -> Any:
    """A cell cut to ``width`` with …, for the columns that give way."""
    if width is None or not isinstance(cell, Text):
        return cell
    cut = cell.copy()
    cut.truncate(width, overflow="ellipsis")
    return cut
