"""The graph a config describes, without Keras: layer entries, names, connections and outputs, checked by name.

A ``model.layers`` entry is one ``{KerasLayerName: {arguments}}`` key plus optional
``name`` and ``inputs``; ``model.inputs`` names the model's inputs and ``model.outputs``
its outputs. This module (standard library and ``engine.errors`` only) resolves every
connection to an input or an earlier layer and reports what cannot be resolved with its
key path; the schema (``engine.config``) calls it, and ``engine.graph`` builds the resolved
graph with Keras, which checks the shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from engine.errors import suggest

__all__ = [
    "GRAPH_KEYS",
    "DEFAULT_INPUT",
    "LayerEntry",
    "Source",
    "GraphSpec",
    "layer_entry",
    "layer_class",
    "uses_graph",
    "resolve_graph",
    "per_output",
    "wiring_issues",
]

GRAPH_KEYS = ("name", "inputs")
"""The keys a layer entry may carry beside its one ``{KerasLayerName: {arguments}}`` key."""

DEFAULT_INPUT = "input"
"""The name of a plain stack's one input (``model.input_shape``), as ``build_model`` has always named it."""


@dataclass(frozen=True)
class LayerEntry:
    """One ``model.layers`` entry, taken apart."""

    class_name: str
    kwargs: dict[str, Any]
    name: str | None = None
    inputs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Source:
    """Where a layer's input comes from: a model input (``layer`` None) or the layer at index ``layer``."""

    name: str
    layer: int | None = None


@dataclass
class GraphSpec:
    """The resolved graph: each layer's sources, in order, and the layers that are outputs."""

    inputs: dict[str, tuple[int | None, ...] | None]
    """Model input name -> shape (None: taken from the data)."""
    sources: list[list[Source]]
    """For each layer, its inputs in the order given."""
    outputs: list[int]
    """Indices of the output layers."""


def layer_class(entry: Any) -> str | None:
    """The Keras class key of an entry (the key that is not ``name``/``inputs``), or None if there is not exactly one."""
    if not isinstance(entry, dict):
        return None
    keys = [k for k in entry if k not in GRAPH_KEYS]
    return keys[0] if len(keys) == 1 and isinstance(keys[0], str) else None


def layer_entry(index: int, entry: Any) -> tuple[LayerEntry | None, list[tuple[str, str]]]:
    """Take ``model.layers[index]`` apart: the entry, or None and the issues that prevent it."""
    base = f"model.layers[{index}]"
    if not isinstance(entry, dict):
        return None, [(base, f"must be a single {{LayerName: {{arguments}}}} mapping, got {entry!r}")]
    keys = [k for k in entry if k not in GRAPH_KEYS]
    if len(keys) != 1:
        got = ", ".join(map(repr, keys)) or "none"
        return None, [(base, f"must have exactly one {{LayerName: {{arguments}}}} key (besides name and inputs), got {got}")]
    cls = keys[0]
    kwargs = entry[cls] if entry[cls] is not None else {}
    issues: list[tuple[str, str]] = []
    if not isinstance(cls, str):
        issues.append((base, f"layer name must be a string, got {cls!r}"))
    elif not isinstance(kwargs, dict):
        issues.append((f"{base}.{cls}", f"arguments must be a mapping, got {kwargs!r}"))
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or "/" in name):
        issues.append((f"{base}.name", f"must be a non-empty string without '/', got {name!r}"))
    inputs = entry.get("inputs")
    if inputs is not None:
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
            issues.append((f"{base}.inputs", f"must be a list of input or layer names, got {entry.get('inputs')!r}"))
    if issues:
        return None, issues
    return LayerEntry(cls, dict(kwargs), name, tuple(inputs) if inputs is not None else None), []


def uses_graph(inputs: Mapping[str, Any] | None, layers: Sequence[Any], outputs: Sequence[str] | None) -> bool:
    """True when the config needs the functional builder (named inputs, named or wired layers, chosen outputs)."""
    if inputs or outputs:
        return True
    return any(isinstance(e, dict) and any(k in e for k in GRAPH_KEYS) for e in layers)


def resolve_graph(
    inputs: Mapping[str, Any] | None,
    input_shape: Sequence[int] | None,
    layers: Sequence[Any],
    outputs: Sequence[str] | None,
) -> tuple[GraphSpec | None, list[tuple[str, str]]]:
    """Resolve every connection by name; the graph, or None and one ``(key path, message)`` per problem.

    Args:
        inputs: ``model.inputs`` (name -> shape). Defaults to one input named ``DEFAULT_INPUT``.
        input_shape: ``model.input_shape``, the shape of that one input; None means from the data.
        layers: ``model.layers`` as written.
        outputs: ``model.outputs``. Defaults to the last layer.
    """
    model_inputs: dict[str, Any] = (
        {n: tuple(s) if s is not None else None for n, s in inputs.items()}
        if inputs
        else {DEFAULT_INPUT: tuple(input_shape) if input_shape else None}
    )
    issues: list[tuple[str, str]] = []
    entries = []
    for i, raw in enumerate(layers):
        entry, problems = layer_entry(i, raw)
        issues += problems
        entries.append(entry)
    later = {e.name: i for i, e in enumerate(entries) if e is not None and e.name}
    known: dict[str, int] = {}
    sources: list[list[Source]] = []
    for i, entry in enumerate(entries):
        if entry is None:
            sources.append([])
            continue
        sources.append(_sources(i, entry, model_inputs, known, later, issues))
        if entry.name:
            if entry.name in model_inputs:
                issues.append((f"model.layers[{i}].name", f"{entry.name!r} is already a model input"))
            elif entry.name in known:
                issues.append(
                    (f"model.layers[{i}].name", f"{entry.name!r} is already the name of model.layers[{known[entry.name]}]")
                )
            else:
                known[entry.name] = i
    out = _outputs(outputs, known, len(entries), issues)
    if issues:
        return None, issues
    return GraphSpec(model_inputs, sources, out), []


def _sources(
    i: int,
    entry: LayerEntry,
    model_inputs: Mapping[str, Any],
    known: Mapping[str, int],
    later: Mapping[str, int],
    issues: list[tuple[str, str]],
) -> list[Source]:
    """One layer's sources; appends to ``issues`` what cannot be resolved."""
    key = f"model.layers[{i}].inputs"
    if entry.inputs is None:
        if i > 0:
            return [Source(f"model.layers[{i - 1}]", i - 1)]
        if len(model_inputs) == 1:
            return [Source(next(iter(model_inputs)))]
        names = ", ".join(model_inputs)
        issues.append((key, f"the model has {len(model_inputs)} inputs ({names}); list the ones this layer takes"))
        return []
    out = []
    for ref in entry.inputs:
        if ref in model_inputs:
            out.append(Source(ref))
        elif ref in known:
            out.append(Source(ref, known[ref]))
        elif ref == entry.name:
            issues.append((key, f"{ref!r} is this layer itself (a layer takes inputs only from layers above it)"))
        elif ref in later:
            issues.append((key, f"{ref!r} is not an input or an earlier layer: it is model.layers[{later[ref]}], below "
                                "this one (inputs come only from layers above, so the graph has no cycles)"))  # fmt: skip
        else:
            hint = _suggest_name(ref, [*model_inputs, *known])
            issues.append((key, f"{ref!r} is not an input or an earlier layer{hint}"))
    return out


def _suggest_name(name: str, names: list[str]) -> str:
    """``suggest``, or for short names it finds nothing close to ('c9'), the first name one edit away ('c1')."""
    hint = suggest(name, names)
    if hint or len(name) < 2:
        return hint
    near = next((n for n in names if _one_edit(name, n)), None)
    return f" (did you mean {near!r}?)" if near else ""


def _one_edit(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with one character replaced, added or removed."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _outputs(outputs: Sequence[str] | None, known: Mapping[str, int], count: int, issues: list[tuple[str, str]]) -> list[int]:
    """Indices of the output layers; appends to ``issues`` the names that are not layers."""
    if not outputs:
        return [count - 1] if count else []
    out = []
    for j, ref in enumerate(outputs):
        if ref in known:
            if known[ref] in out:
                issues.append((f"model.outputs[{j}]", f"{ref!r} is listed twice"))
            out.append(known[ref])
        else:
            issues.append((f"model.outputs[{j}]", f"{ref!r} is not a layer{_suggest_name(ref, list(known))}"))
    return out


def per_output(value: Any) -> bool:
    """True for a ``compile.loss`` mapping keyed by output name (a ``{name: .., <arguments>}`` loss has ``name``)."""
    return isinstance(value, dict) and "name" not in value


def wiring_issues(
    input_names: Sequence[str], output_names: Sequence[str], compile: Mapping[str, Any], data: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Mappings keyed by input or output name (``compile.loss``/``metrics``/``loss_weights``, ``data.x``/``y``) that
    name something the model does not have, or miss something it has; one ``(key path, message)`` per problem."""
    issues: list[tuple[str, str]] = []
    outputs = list(output_names)
    many = len(outputs) > 1
    loss = compile.get("loss")
    if per_output(loss):
        issues += _keyed("compile.loss", loss, outputs, "output", required="no loss for output")
    metrics = compile.get("metrics")
    if isinstance(metrics, dict):
        issues += _keyed("compile.metrics", metrics, outputs, "output")
    weights = compile.get("loss_weights")
    if isinstance(weights, dict):
        issues += _keyed("compile.loss_weights", weights, outputs, "output", required="no weight for output")
    elif isinstance(weights, list) and len(weights) != max(len(outputs), 1):
        issues.append(("compile.loss_weights", f"the model has {max(len(outputs), 1)} outputs, got {len(weights)} weights"))
    for part in ("", "validation.", "test."):
        where = data.get(part[:-1]) if part else data
        if not isinstance(where, Mapping):
            continue
        x, y = where.get("x"), where.get("y")
        if isinstance(x, dict):
            issues += _keyed(f"data.{part}x", x, list(input_names), "model input", required="no data for input")
        elif isinstance(x, str) and len(input_names) > 1:
            issues.append((f"data.{part}x", _map_each(input_names, "x")))
        if isinstance(y, dict):
            issues += _keyed(f"data.{part}y", y, outputs, "model output", required="no data for output")
        elif isinstance(y, str) and many:
            issues.append((f"data.{part}y", _map_each(outputs, "y")))
    return issues


def _map_each(names: Sequence[str], key: str) -> str:
    listed = ", ".join(names)
    return f"the model has {len(names)} {'inputs' if key == 'x' else 'outputs'} ({listed}); map each to its data: " \
           f"{key}: {{{', '.join(f'{n}: ...' for n in names)}}}"  # fmt: skip


def _keyed(
    key: str, mapping: Mapping[str, Any], names: list[str], what: str, *, required: str | None = None
) -> list[tuple[str, str]]:
    """Keys of ``mapping`` that are not among ``names``; with ``required``, the names it lacks too."""
    if not names:
        return [(key, f"a mapping by {what} name needs named outputs: name the last layer, or list model.outputs")]
    article = "an" if what[0] in "aeiou" else "a"
    issues = [(key, f"{k!r} is not {article} {what}{suggest(str(k), names)}") for k in mapping if k not in names]
    if required and not issues:
        issues += [(key, f"{required} {n!r}") for n in names if n not in mapping]
    return issues
