"""Every constructor argument of a Keras layer, with its default and a one-line description, read from Keras and cached on disk.

The layer editor offers all of a layer's arguments: the catalogue's first (checked, with
their choices), then the rest of the class' signature, each described by the first
sentence of its entry in the class docstring's ``Args:``. Reading them imports Keras
(TensorFlow), so the result is kept in ``<cache>/keras-<version>/layer_args.json``, keyed by
the installed Keras version read from the package metadata (no import): the app opens the
editor with every argument at once, without loading TensorFlow, once a layer has been read.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.layers import LAYERS, ArgSpec, LayerSpec, keras_layer_names

__all__ = ["INITIALIZERS", "keras_version", "cached_layer_arguments", "layer_arguments", "arg_descriptions", "choices_for"]

INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "zeros", "ones",
    "orthogonal", "random_normal", "random_uniform", "truncated_normal", "variance_scaling", "identity",
)  # fmt: skip
"""Initializer names Keras accepts by name, the common ones first."""

_SKIPPED = ("self", "name")
"""``name`` is the entry's own key (beside the layer), not one of its arguments."""


def keras_version() -> str | None:
    """The installed Keras' version, from the package metadata (Keras is not imported); None if it is not installed."""
    try:
        return metadata.version("keras")
    except metadata.PackageNotFoundError:
        return None


def _cache_file(cache_dir: Path) -> Path | None:
    version = keras_version()
    return cache_dir / f"keras-{version}" / "layer_args.json" if version else None


def _read_cache(cache_dir: Path) -> dict[str, Any]:
    path = _cache_file(cache_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache_dir: Path, data: dict[str, Any]) -> None:
    path = _cache_file(cache_dir)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)  # never half-written: another app may read it meanwhile


def arg_descriptions(doc: str | None) -> dict[str, str]:
    """Argument name -> the first sentence of its entry in a Google-style docstring's ``Args:`` section."""
    lines = (doc or "").expandtabs().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Args:"), None)
    if start is None:
        return {}
    out: dict[str, list[str]] = {}
    indent, current = None, None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth < indent:
            break
        m = re.match(r"(\w+)(?:\s*\([^)]*\))?:\s*(.*)", line.strip())
        if depth == indent and m:
            current = m.group(1)
            out[current] = [m.group(2)]
        elif current is not None:
            out[current].append(line.strip())
    return {name: _first_sentence(" ".join(parts)) for name, parts in out.items()}


def _first_sentence(text: str) -> str:
    text = " ".join(text.replace("`", "").split())
    m = re.match(r"(.+?\.)(\s|$)", text)
    return m.group(1) if m else text


def _plain_default(value: Any) -> Any:
    if isinstance(value, tuple):
        value = list(value)
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _read_from_keras(name: str) -> list[dict[str, Any]]:
    """One layer's signature and docstring, as JSON-ready rows."""
    from engine.kerasapi import keras

    cls = getattr(keras().layers, name)
    described = {**arg_descriptions(inspect.getdoc(keras().layers.Layer)), **arg_descriptions(inspect.getdoc(cls))}
    rows = []
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name in _SKIPPED or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        required = param.default is inspect.Parameter.empty
        rows.append({"name": param.name, "default": None if required else _plain_default(param.default),
                     "required": required, "help": described.get(param.name, "")})  # fmt: skip
    return rows


def _spec(name: str, rows: list[dict[str, Any]]) -> LayerSpec:
    """The catalogue's arguments first (its checks and choices, Keras' description), then the rest of the signature."""
    known = LAYERS.get(name)
    helps = {r["name"]: r["help"] for r in rows}
    args = [ArgSpec(**{**a.__dict__, "help": a.help or helps.get(a.name, "")}) for a in (known.args if known else ())]
    listed = {a.name for a in args}
    args += [
        ArgSpec(r["name"], "any", r["default"], required=r["required"], help=r["help"]) for r in rows if r["name"] not in listed
    ]
    return LayerSpec(name, known.category if known else "keras", tuple(args), known.help if known else "")


def cached_layer_arguments(name: str, cache_dir: Path) -> LayerSpec | None:
    """Every argument of ``name`` if this Keras version's cache has read it before; None otherwise. Never imports Keras."""
    rows = _read_cache(cache_dir).get(name)
    return _spec(name, rows) if isinstance(rows, list) else None


def layer_arguments(name: str, cache_dir: Path | None = None) -> LayerSpec | None:
    """Every argument of the Keras layer ``name``; None if Keras has no such layer.

    Args:
        name: a ``keras.layers`` class name.
        cache_dir: the folder holding the per-version cache; read first and written after a
            read from Keras. Defaults to None (no cache: always asks Keras).

    Imports Keras when the cache has not got ``name``: call it off the UI thread.
    """
    if cache_dir is not None and (spec := cached_layer_arguments(name, cache_dir)) is not None:
        return spec
    if name not in keras_layer_names():
        return None
    rows = _read_from_keras(name)
    if cache_dir is not None:
        _write_cache(cache_dir, {**_read_cache(cache_dir), name: rows})
    return _spec(name, rows)


def choices_for(arg: str) -> tuple[str, ...]:
    """The names an argument takes by name (activations, initializers, regularizers), for the editor's suggestions."""
    from engine.layers import ACTIVATIONS, REGULARIZERS

    if arg == "activation" or arg.endswith("_activation"):
        return ACTIVATIONS
    if arg.endswith("_initializer"):
        return INITIALIZERS
    if arg.endswith("_regularizer"):
        return REGULARIZERS
    return ()
