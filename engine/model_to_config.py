"""A built Keras model -> the config's ``model`` section (``inputs``/``input_shape``, ``layers``, ``outputs``), from ``get_config()``.

The Build screen opens a ``.keras``/``.h5`` file as editable entries with this, and
``ctrl+s`` then writes YAML that builds the same architecture (``engine.model.build_model``).
Each layer keeps only the arguments that differ from what its class makes by default
(Keras itself says what that is: the config of a fresh layer made with the same required
arguments), written the way a config file writes them (``{l2: 0.01}``, ``he_normal``).
Weights are not carried over: the entries describe the architecture. What the entries
cannot express (a custom or nested model class, a layer used twice, a sample dimension of
any size) raises ``ModelError`` saying which layer and why.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from engine.errors import ModelError

__all__ = ["model_section"]

_ALWAYS_DROPPED = ("name", "trainable")
_REGULARIZERS = {"L1": "l1", "L2": "l2"}


def model_section(model: Any) -> dict[str, Any]:
    """The ``model`` keys that build ``model`` anew: ``input_shape`` or ``inputs``, ``layers``, and ``outputs`` when needed.

    A ``Sequential`` model becomes a plain stack (``input_shape`` and unnamed layers); any
    other model becomes named entries with their ``inputs`` (only where a layer does not
    simply take the one above) and ``model.outputs`` (only where it is not just the last
    layer).

    Raises:
        ModelError: a layer that entries cannot express, named, with the reason.
    """
    from engine.kerasapi import keras

    k = keras()
    config = model.get_config()
    if type(model).__name__ == "Sequential":
        return _sequential(k, model, config)
    if "input_layers" not in config:
        raise ModelError(
            f"{type(model).__name__} is a subclassed model (its own call()); only Sequential and functional "
            "models can become layer entries (keep model.path to train it as it is)",
            key="model.path",
        )
    return _functional(k, model, config)


def _sequential(k: Any, model: Any, config: dict[str, Any]) -> dict[str, Any]:
    layers = config.get("layers") or []
    shape = None
    if layers and layers[0].get("class_name") == "InputLayer":
        shape = layers[0]["config"].get("batch_shape")
        layers = layers[1:]
    shape = shape or config.get("build_input_shape")
    section: dict[str, Any] = {}
    if shape:
        section["input_shape"] = _sample_shape(shape[1:], "the model's input")
    built = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    section["layers"] = [{_class(k, layer, raw): _arguments(k, layer, raw)} for layer, raw in zip(built, layers)]
    return section


def _functional(k: Any, model: Any, config: dict[str, Any]) -> dict[str, Any]:
    by_name = {layer.name: layer for layer in model.layers}
    inputs: dict[str, list[int]] = {}
    for name, *_ in config["input_layers"] if _nested(config["input_layers"]) else [config["input_layers"]]:
        raw = next(r for r in config["layers"] if r["name"] == name)
        inputs[name] = _sample_shape(raw["config"]["batch_shape"][1:], f"input {name!r}")
    entries: list[dict[str, Any]] = []
    previous: str | None = None
    for raw in config["layers"]:
        if raw["class_name"] == "InputLayer":
            continue
        layer = by_name[raw["name"]]
        cls = _class(k, layer, raw)
        nodes = raw.get("inbound_nodes") or []
        if len(nodes) != 1:
            raise ModelError(
                f"layer {layer.name!r} ({cls}) is called {len(nodes)} times (shared weights); "
                "layer entries give each layer one place in the graph",
                key="model.path",
            )
        sources = _sources(layer.name, nodes[0])
        entry: dict[str, Any] = {cls: _arguments(k, layer, raw), "name": layer.name}
        takes_the_one_above = sources == [previous] if previous else (len(inputs) == 1 and sources == list(inputs))
        if not takes_the_one_above:
            entry["inputs"] = sources
        entries.append(entry)
        previous = layer.name
    section: dict[str, Any] = {"inputs": inputs, "layers": entries}
    outputs = [o[0] for o in config["output_layers"]] if _nested(config["output_layers"]) else [config["output_layers"][0]]
    if outputs != [previous]:
        section["outputs"] = outputs
    return section


def _nested(refs: Any) -> bool:
    return bool(refs) and isinstance(refs[0], (list, tuple))


def _sources(layer: str, node: dict[str, Any]) -> list[str]:
    """The names a layer's one call takes, from its inbound node (``keras_history``)."""
    args = node.get("args") or []
    tensors = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    names = []
    for tensor in tensors:
        history = (tensor.get("config") or {}).get("keras_history") if isinstance(tensor, dict) else None
        if not history:
            raise ModelError(f"layer {layer!r} takes an argument that is not a layer's output", key="model.path")
        if history[2] != 0:
            raise ModelError(
                f"layer {layer!r} takes output {history[2]} of {history[0]!r}; layer entries connect first outputs only",
                key="model.path",
            )
        names.append(str(history[0]))
    return names


def _sample_shape(dims: Any, what: str) -> list[int]:
    if any(d is None for d in dims):
        shown = "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"
        raise ModelError(f"{what} takes samples of shape {shown}; a config gives every dimension a size", key="model.path")
    return [int(d) for d in dims]


def _class(k: Any, layer: Any, raw: dict[str, Any]) -> str:
    """The entry's Keras class name; a class Keras cannot make from its name alone is refused, named."""
    name = raw["class_name"]
    cls = getattr(k.layers, name, None)
    if type(layer) is not cls:
        what = "a model nested as a layer" if isinstance(layer, k.Model) else "not one of Keras' own layers"
        raise ModelError(
            f"layer {layer.name!r} is a {type(layer).__name__}, {what}; layer entries can only name keras.layers "
            "classes (keep model.path to train this file as it is)",
            key="model.path",
        )
    return name


def _arguments(k: Any, layer: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """The layer's arguments that differ from its class' defaults, written as a config file writes them."""
    config = raw.get("config") or {}
    required = _required(type(layer), config)
    defaults = _default_config(type(layer), required)
    out = {}
    for key, value in config.items():
        if key in _ALWAYS_DROPPED or (key not in required and key in defaults and defaults[key] == value):
            continue
        if key == "dtype" and _policy_name(value) == "float32":
            continue
        out[key] = _plain(value)
    return out


def _required(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """The arguments ``cls`` cannot be made without, with their values in ``config``."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name: config[p.name]
        for p in params
        if p.name != "self" and p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name in config
    }  # fmt: skip


def _default_config(cls: type, required: dict[str, Any]) -> dict[str, Any]:
    """The config of a fresh ``cls`` made with only its ``required`` arguments; {} if it cannot be made."""
    try:
        return dict(cls(**required).get_config())
    except Exception:  # a class needing more than its config says: keep every argument
        return {}


def _policy_name(value: Any) -> Any:
    if isinstance(value, dict):
        return (value.get("config") or {}).get("name")
    return value


def _plain(value: Any) -> Any:
    """Tuples as lists, Keras' serialized regularizers and default-configured initializers by their short names."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if not (isinstance(value, dict) and "class_name" in value and "config" in value):
        return value
    cls, args = value["class_name"], value.get("config") or {}
    module = str(value.get("module") or "")
    if module.endswith("regularizers"):
        if cls in _REGULARIZERS and set(args) == {_REGULARIZERS[cls]}:
            return {_REGULARIZERS[cls]: args[_REGULARIZERS[cls]]}
        if cls == "L1L2":
            return {"l1_l2": {"l1": args.get("l1", 0.0), "l2": args.get("l2", 0.0)}}
    if module.endswith("initializers") and all(v is None for v in args.values()):
        return re.sub(r"(?<!^)(?=[A-Z])", "_", cls).lower()  # GlorotUniform -> glorot_uniform
    return {key: _plain(v) for key, v in value.items() if not (key == "registered_name" and v is None)}
