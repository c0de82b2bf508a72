"""Config layers -> Keras tensors: make each layer, wire it to its inputs with the functional API, and say where it fails.

``engine.graph_spec`` resolves the connections by name (no Keras); this module calls
each layer on its inputs' tensors, so Keras itself checks every shape (a merge of
incompatible shapes, a Conv2D fed a vector), and records, per layer, what it is
connected to, its output shape and its error. ``engine.model`` turns the result into a
``keras.Model`` (``build_model``) or summary rows (``summarize``). A plain stack is the
same graph with one input named ``input`` and each layer taking the one above.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from engine.config import ModelConfig
from engine.errors import ModelError, suggest
from engine.graph_spec import DEFAULT_INPUT, GraphSpec, layer_entry, resolve_graph

__all__ = ["NO_INPUT_SHAPE", "LayerStep", "GraphBuild", "build_graph", "connected_to", "make_layer", "clean_keras_message", "shape_text",
           "output_names", "input_names"]


@dataclass
class LayerStep:
    """One ``model.layers`` entry after building: its Keras layer and output, or the error that stopped it."""

    index: int
    class_name: str
    inputs: list[str]
    """The names of what feeds it (model inputs or layer names), as Keras' summary's "connected to"."""
    layer: Any = None
    tensor: Any = None
    error: str | None = None
    key: str | None = None
    """The key path of ``error``."""


@dataclass
class GraphBuild:
    """Every layer's step, the model's input tensors by name and its output tensors, in order."""

    steps: list[LayerStep] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: list[Any] = field(default_factory=list)

    @property
    def first_error(self) -> LayerStep | None:
        return next((s for s in self.steps if s.error), None)


def _layer_names(keras: Any) -> list[str]:
    names = []
    for n in dir(keras.layers):
        obj = getattr(keras.layers, n)
        if n[:1].isupper() and isinstance(obj, type) and issubclass(obj, keras.layers.Layer):
            names.append(n)
    return names


def _regularizer(keras: Any, value: Any) -> Any:
    if isinstance(value, str):
        return keras.regularizers.get(value)
    (kind, arg), = value.items()
    if kind == "l1_l2":
        return keras.regularizers.L1L2(l1=float(arg.get("l1", 0.0)), l2=float(arg.get("l2", 0.0)))
    return {"l1": keras.regularizers.L1, "l2": keras.regularizers.L2}[kind](float(arg))


def _convert_kwargs(keras: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    for key, value in kwargs.items():
        if key.endswith("_regularizer") and isinstance(value, (dict, str)):
            out[key] = _regularizer(keras, value)
        elif isinstance(value, list) and key in ("kernel_size", "strides", "pool_size", "target_shape", "dilation_rate"):
            out[key] = tuple(value)
    return out


def clean_keras_message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # Keras wraps shape errors in a long call-context preamble; keep the useful line.
    text = re.sub(r"\s*Arguments received by .*", "", text, flags=re.S)
    m = re.search(r"Exception encountered when calling [^\n]*\n+(.*)", text, flags=re.S)
    if m:
        text = m.group(1).strip()
    text = re.sub(r"Input \d+ with name '[^']*' of layer '[^']*' is incompatible with the layer: ", "", text)
    first = " ".join(text.split())
    return first[:300] + ("…" if len(first) > 300 else "")


def make_layer(keras: Any, index: int, entry: dict[str, Any]) -> Any:
    """Instantiate one ``{Name: kwargs}`` entry (named by its ``name``, if any), or raise ModelError naming it."""
    parsed, issues = layer_entry(index, entry)
    if parsed is None:
        raise ModelError(issues[0][1], key=issues[0][0])
    name, kwargs = parsed.class_name, dict(parsed.kwargs)
    if parsed.name and "name" not in kwargs:
        kwargs["name"] = parsed.name
    key = f"model.layers[{index}].{name}"
    cls = getattr(keras.layers, name, None)
    if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)) or name == "Input" or name == "InputLayer":
        raise ModelError(
            f"unknown layer {name!r}{suggest(name, _layer_names(keras))}",
            key=f"model.layers[{index}]",
        )
    try:
        return cls(**_convert_kwargs(keras, kwargs))
    except (TypeError, ValueError) as exc:
        # Keras 3 layers raise ValueError("Unrecognized keyword arguments passed to Dense:
        # {'activaton': ...}"); plain Python raises TypeError("... unexpected keyword argument 'x'").
        msg = str(exc)
        m = re.search(r"\{'([^']+)'|keyword argument '([^']+)'", msg)
        if "Unrecognized keyword" in msg or "unexpected keyword" in msg:
            bad = (m.group(1) or m.group(2)) if m else None
            params = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
            if bad:
                raise ModelError(
                    f"{name} has no argument {bad!r}{suggest(bad, params)}", key=f"{key}.{bad}"
                ) from None
        raise ModelError(clean_keras_message(exc), key=key) from None
    except KeyError as exc:
        raise ModelError(clean_keras_message(exc), key=key) from None


def shape_text(shape: Any) -> str:
    try:
        dims = tuple(shape)
    except TypeError:
        return str(shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"


NO_INPUT_SHAPE = "give the shape of one sample, e.g. [2] or [28, 28]"
"""Why a model with no input shape, and no data to take it from, cannot be built."""


def _input_shapes(model: ModelConfig, data_shape: Any) -> dict[str, tuple[int, ...]]:
    """Each model input's shape: from ``model.inputs``/``model.input_shape``, else from the data."""
    if model.inputs:
        return {name: tuple(shape) for name, shape in model.inputs.items()}
    if model.input_shape:
        return {DEFAULT_INPUT: tuple(model.input_shape)}
    if isinstance(data_shape, Mapping) and len(data_shape) == 1:
        data_shape = next(iter(data_shape.values()))
    if data_shape and not isinstance(data_shape, Mapping):
        return {DEFAULT_INPUT: tuple(data_shape)}
    if isinstance(data_shape, Mapping) and data_shape:
        raise ModelError(
            f"the data has {len(data_shape)} inputs ({', '.join(data_shape)}): name them in model.inputs "
            f"with their shapes, e.g. inputs: {{{', '.join(f'{n}: {list(s)}' for n, s in data_shape.items())}}}",
            key="model.inputs",
        )
    raise ModelError(NO_INPUT_SHAPE, key="model.input_shape")


def _spec(model: ModelConfig) -> GraphSpec:
    spec, issues = resolve_graph(model.inputs, model.input_shape, model.layers, model.outputs)
    if spec is None:  # the schema checked this already; a config built in code may not have been
        key, message = issues[0]
        raise ModelError(message, key=key)
    return spec


def build_graph(keras: Any, model: ModelConfig, data_shape: Any = None, *, keep_going: bool = False) -> GraphBuild:
    """Make and call every layer of ``model.layers`` on its inputs.

    Args:
        keras: the Keras module (``engine.kerasapi.keras()``).
        model: the ``model`` section, with ``layers``.
        data_shape: the data's sample shape (a tuple, or input name -> shape), used where the
            config gives none. Defaults to None.
        keep_going: record a failing layer's error on its step and build every layer that does
            not depend on it (the builder's rows); otherwise raise at once. Defaults to False.

    Raises:
        ModelError: the first layer that cannot be made or called, with its key path (also with
            ``keep_going`` when the inputs themselves cannot be made).
    """
    spec = _spec(model)
    build = GraphBuild()
    for name, shape in _input_shapes(model, data_shape).items():
        build.inputs[name] = keras.Input(shape=shape, name=name)
    for i, raw in enumerate(model.layers):
        entry, _ = layer_entry(i, raw)
        assert entry is not None  # resolved above
        feeds = [build.inputs.get(s.name) if s.layer is None else build.steps[s.layer].tensor for s in spec.sources[i]]
        names = [s.name if s.layer is None else _step_name(build.steps[s.layer], model) for s in spec.sources[i]]
        step = LayerStep(i, entry.class_name, names)
        build.steps.append(step)
        if any(t is None for t in feeds):
            continue  # fed by a failed layer: its row shows "?"
        try:
            step.layer = make_layer(keras, i, raw)
            step.tensor = _call(step.layer, i, entry.class_name, feeds)
        except ModelError as exc:
            if not keep_going:
                raise
            step.error, step.key = exc.message, exc.key
    build.outputs = [build.steps[j].tensor for j in spec.outputs]
    return build


def _step_name(step: LayerStep, model: ModelConfig) -> str:
    entry = model.layers[step.index]
    if step.layer is not None:
        return str(step.layer.name)
    return str(entry.get("name") or f"model.layers[{step.index}]")


def _call(layer: Any, index: int, class_name: str, feeds: list[Any]) -> Any:
    """Call ``layer`` on one tensor or a list of them; Keras' complaint becomes a ModelError on the layer."""
    try:
        return layer(feeds[0] if len(feeds) == 1 else feeds)
    except Exception as exc:  # Keras raises ValueError/TypeError/InvalidArgument variants
        message = clean_keras_message(exc)
        shapes = [shape_text(t.shape) for t in feeds]
        if len(feeds) == 1:
            raise ModelError(
                f"does not fit its input of shape {shapes[0]}: {message}", key=f"model.layers[{index}].{class_name}"
            ) from None
        got = ", ".join(shapes[:-1]) + f" and {shapes[-1]}"
        if "incompatible shapes" in message:
            raise ModelError(f"{class_name} needs inputs of one shape, got {got}", key=f"model.layers[{index}]") from None
        raise ModelError(f"{class_name} cannot take inputs of shapes {got}: {message}", key=f"model.layers[{index}]") from None


def connected_to(layer: Any) -> list[str]:
    """The names of the layers feeding ``layer`` in a built functional model (Keras' "connected to")."""
    names: list[str] = []
    for node in getattr(layer, "_inbound_nodes", [])[:1]:
        for tensor in getattr(node, "input_tensors", []) or []:
            history = getattr(tensor, "_keras_history", None)
            op = getattr(history, "operation", None) or (history[0] if isinstance(history, tuple) else None)
            if op is not None:
                names.append(str(op.name))
    return names


def output_names(model: Any) -> list[str]:
    """A built model's output names, in order (what ``fit`` keys ``y`` by and Keras prefixes its logs with)."""
    names = getattr(model, "output_names", None)
    return [str(n) for n in names] if names else []


def input_names(model: Any) -> list[str]:
    """A built model's input names, in order (what ``fit`` keys ``x`` by)."""
    return [str(getattr(t, "name", "")) for t in getattr(model, "inputs", None) or []]
