"""``optimizer_arguments``: an optimizer's own arguments (SGD ``momentum``, ``nesterov`` …), read from its Keras class.

Keras is asked, not a list kept here: the arguments of the optimizer's class, less the
learning rate (a field of its own) and those every optimizer takes with the same default
(``clipnorm``, ``use_ema`` …). AdamW's ``weight_decay`` stays: its default is its own.
Imports Keras (and TensorFlow): call it off the UI thread.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from engine.layers import OPTIMIZERS, ArgSpec, canonical_optimizer

__all__ = ["optimizer_arguments"]

_NOT_AN_ARGUMENT = ("self", "learning_rate", "name")


def _parameters(class_name: str) -> dict[str, Any]:
    """The keyword arguments of ``keras.optimizers.<class_name>`` and their defaults."""
    from engine.kerasapi import keras

    cls = getattr(keras().optimizers, class_name)
    return {
        p.name: p.default
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name not in _NOT_AN_ARGUMENT and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


@functools.cache
def _shared() -> dict[str, Any]:
    """Arguments every optimizer in the catalogue takes, with the same default."""
    signatures = [_parameters(class_name) for class_name, _args in OPTIMIZERS.values()]
    first = signatures[0]
    return {k: v for k, v in first.items() if all(k in s and s[k] == v for s in signatures[1:])}


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    return "any"


@functools.cache
def optimizer_arguments(name: str) -> tuple[ArgSpec, ...]:
    """The arguments optimizer ``name`` (a config name: ``sgd``, ``adam`` …) has beyond the shared ones.

    Each comes with its Keras default and a ``kind`` from that default (bool, int, float,
    or any). An optimizer the catalogue does not know has none.
    """
    entry = OPTIMIZERS.get(canonical_optimizer(name))
    if entry is None:
        return ()
    shared = _shared()
    return tuple(
        ArgSpec(name=arg, kind=_kind(default), default=default)
        for arg, default in _parameters(entry[0]).items()
        if not (arg in shared and shared[arg] == default)
    )
