"""The Build screen's graph edits as pure functions: the config's ``model`` section in, the dotted keys to set out.

Who owns what: the screen asks (dialogs) and hands the result to ``Workspace.update``;
these functions only compute the new ``model.layers``/``inputs``/``outputs``/``input_shape``
values, so every edit is one workspace change. A layer that is referred to (chosen as an
input, made an output) and has no name gets one the way Keras names layers
(``dense``, ``dense_1``), and a rename follows it into every ``inputs`` list and
``model.outputs``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from engine.graph_spec import DEFAULT_INPUT, GRAPH_KEYS, layer_class

__all__ = [
    "MERGE_LAYERS",
    "entry_name",
    "input_names",
    "choices_above",
    "unique_name",
    "snake_case",
    "with_arguments",
    "rename",
    "set_inputs",
    "toggle_output",
    "add_input",
    "remove_input",
    "name_problem",
]

MERGE_LAYERS = {
    "Concatenate": "joins its inputs along the last axis (other axes equal)",
    "Add": "sums inputs of one shape (a residual connection)",
    "Subtract": "the first of two inputs minus the second",
    "Multiply": "multiplies inputs of one shape, element by element",
    "Average": "the mean of inputs of one shape",
    "Maximum": "the element-wise maximum of inputs of one shape",
    "Minimum": "the element-wise minimum of inputs of one shape",
    "Dot": "the dot product of two inputs along the given axes",
}
"""Keras' layers that join several inputs into one (offered by the merge key), with what each does."""


def entry_name(entry: Any) -> str | None:
    name = entry.get("name") if isinstance(entry, dict) else None
    return name if isinstance(name, str) and name else None


def input_names(model: dict[str, Any]) -> list[str]:
    """The model's input names: ``model.inputs``' keys, or the one input a plain stack has."""
    inputs = model.get("inputs")
    return list(inputs) if isinstance(inputs, dict) and inputs else [DEFAULT_INPUT]


def snake_case(cls: str) -> str:
    """A class name as Keras names its layers: ``GlobalAveragePooling2D`` -> ``global_average_pooling2d``."""
    intermediate = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", cls)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", intermediate).lower()


def unique_name(cls: str, taken: set[str]) -> str:
    """A name as Keras would give a ``cls`` layer (``dense``, ``dense_1`` …) that is not in ``taken``."""
    base = snake_case(cls) or "layer"
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def _taken(model: dict[str, Any], layers: list[Any]) -> set[str]:
    return {*input_names(model), *(n for n in map(entry_name, layers) if n)}


def choices_above(model: dict[str, Any], index: int) -> list[tuple[str, str]]:
    """What layer ``index`` may take: ``(value, label)`` for each model input, then each layer above it.

    A layer above without a name has the value ``#i`` (it is named when chosen).
    """
    out = [(name, f"{name}  (model input)") for name in input_names(model)]
    for i, entry in enumerate((model.get("layers") or [])[:index]):
        name = entry_name(entry)
        cls = layer_class(entry) or "?"
        out.append((name or f"#{i}", f"{name or f'model.layers[{i}]'}  ({cls})"))
    return out


def with_arguments(entry: Any, cls: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with its layer's arguments replaced, its ``name`` and ``inputs`` kept (the layer key stays first)."""
    kept = {k: entry[k] for k in GRAPH_KEYS if isinstance(entry, dict) and k in entry}
    return {cls: kwargs, **kept}


def name_problem(model: dict[str, Any], index: int, name: str) -> str | None:
    """Why ``name`` cannot name layer ``index`` (None when it can; empty means "no name")."""
    name = name.strip()
    if not name:
        return None
    if "/" in name:
        return "a name cannot contain '/'"
    layers = model.get("layers") or []
    if name in input_names(model) and model.get("inputs"):
        return f"{name!r} is already a model input"
    for i, entry in enumerate(layers):
        if i != index and entry_name(entry) == name:
            return f"{name!r} is already the name of model.layers[{i}]"
    return None


def _name_layer(layers: list[Any], index: int, name: str | None) -> None:
    entry = dict(layers[index])
    entry.pop("name", None)
    cls = layer_class(entry)
    rest = {k: v for k, v in entry.items() if k != cls}
    layers[index] = {cls: entry[cls], **({"name": name} if name else {}), **rest} if cls else entry


def rename(model: dict[str, Any], index: int, name: str) -> dict[str, Any]:
    """Name layer ``index`` ``name`` (empty: unnamed); references to its old name follow."""
    layers = copy.deepcopy(list(model.get("layers") or []))
    old, new = entry_name(layers[index]), name.strip() or None
    _name_layer(layers, index, new)
    outputs = list(model.get("outputs") or [])
    if old and new:
        for entry in layers:
            if isinstance(entry, dict) and isinstance(entry.get("inputs"), list):
                entry["inputs"] = [new if ref == old else ref for ref in entry["inputs"]]
        outputs = [new if ref == old else ref for ref in outputs]
    changes: dict[str, Any] = {"model.layers": layers}
    if model.get("outputs"):
        changes["model.outputs"] = outputs
    return changes


def _ensure_named(model: dict[str, Any], layers: list[Any], index: int) -> str:
    name = entry_name(layers[index])
    if name is None:
        name = unique_name(layer_class(layers[index]) or "layer", _taken(model, layers))
        _name_layer(layers, index, name)
    return name


def set_inputs(model: dict[str, Any], index: int, chosen: list[str]) -> dict[str, Any]:
    """Layer ``index`` takes ``chosen`` (values from :func:`choices_above`); none: the layer above, as by default."""
    layers = copy.deepcopy(list(model.get("layers") or []))
    refs = [_ensure_named(model, layers, int(value[1:])) if value.startswith("#") else value for value in chosen]
    entry = dict(layers[index])
    entry.pop("inputs", None)
    if refs:
        entry["inputs"] = refs
    layers[index] = entry
    return {"model.layers": layers}


def toggle_output(model: dict[str, Any], index: int) -> tuple[dict[str, Any], bool]:
    """Make layer ``index`` an output of the model, or no longer one; the changes and whether it now is one.

    With no ``model.outputs`` the last layer is the output: marking another lists both, and
    the last layer itself stays the output (no change). Outputs are listed in layer order.
    """
    layers = copy.deepcopy(list(model.get("layers") or []))
    outputs = list(model.get("outputs") or [])
    if not outputs and index == len(layers) - 1:
        return {}, True
    name = _ensure_named(model, layers, index)
    if not outputs and layers:
        outputs = [_ensure_named(model, layers, len(layers) - 1)]
    now = name not in outputs
    outputs = [*outputs, name] if now else [o for o in outputs if o != name]
    order = {entry_name(e): i for i, e in enumerate(layers)}
    outputs.sort(key=lambda o: order.get(o, len(layers)))
    return {"model.layers": layers, "model.outputs": outputs or None}, now


def add_input(model: dict[str, Any], name: str, shape: list[int]) -> dict[str, Any]:
    """Add (or reshape) the model input ``name``; a plain stack's ``input_shape`` becomes the input ``input``."""
    inputs = dict(model.get("inputs") or {})
    if not inputs and model.get("input_shape") and name != DEFAULT_INPUT:
        inputs[DEFAULT_INPUT] = list(model["input_shape"])
    inputs[name] = list(shape)
    return {"model.inputs": inputs, **({"model.input_shape": None} if "input_shape" in model else {})}


def remove_input(model: dict[str, Any], name: str) -> dict[str, Any]:
    """Remove the model input ``name``; the last one left of a plain stack becomes ``input_shape`` again."""
    inputs = {k: v for k, v in (model.get("inputs") or {}).items() if k != name}
    if list(inputs) == [DEFAULT_INPUT]:
        return {"model.inputs": None, "model.input_shape": inputs[DEFAULT_INPUT]}
    return {"model.inputs": inputs or None}
