"""Whether a metric is better high or low, asked of the model's compiled metrics the way Keras does.

Keras' ``MonitorCallback._set_monitor_op`` (keras/src/callbacks/monitor_callback.py)
reads each compiled metric's ``_direction`` ("up" or "down"); this does the same, and
also recognises a multi-output model's ``<output>_<metric>`` names. Only a metric the
model does not know (or an older Keras whose metrics carry no direction) falls back to
its name. Nothing here imports Keras.
"""

from __future__ import annotations

import math
from typing import Any, Literal

__all__ = ["metric_direction", "best_of"]

Direction = Literal["max", "min"]

_HIGH_BY_NAME = ("acc", "auc", "precision", "recall", "r2")
"""The fallback: a metric the model does not know is better high when its name has one of these."""

_NOT_METRICS = ("learning_rate", "epoch")
"""History columns that are not scores."""


def _compiled_metrics(model: Any) -> list[Any]:
    """The model's metric objects, the compiled metrics' containers opened (as Keras does)."""
    out: list[Any] = []
    for metric in getattr(model, "metrics", None) or []:
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, list):  # CompileMetrics / MetricsList
            out.extend(inner)
        else:
            out.append(metric)
    return out


def _asked(model: Any, name: str) -> Direction | None:
    """The direction the model's own metric of that name declares, or None."""
    matches = []
    for metric in _compiled_metrics(model):
        direction = getattr(metric, "_direction", None)
        metric_name = getattr(metric, "name", None)
        if direction not in ("up", "down") or not metric_name:
            continue
        if name == metric_name:
            return "max" if direction == "up" else "min"
        if name.endswith("_" + metric_name):  # a multi-output model's "<output>_<metric>"
            matches.append((len(metric_name), direction))
    if matches:
        return "max" if max(matches)[1] == "up" else "min"
    return None


def metric_direction(model: Any, name: str) -> Direction:
    """"max" if higher values of the metric ``name`` are better, else "min".

    Args:
        model: the compiled model whose metrics are asked (after its first step, when
            Keras has built them), or None to decide by the name alone.
        name: the metric as it appears in the logs (``val_`` prefix allowed).
    """
    base = name.removeprefix("val_")
    if base == "loss":
        return "min"
    if model is not None:
        asked = _asked(model, base)
        if asked is not None:
            return asked
    return "max" if any(w in base for w in _HIGH_BY_NAME) else "min"


def best_of(history: list[dict[str, float]], model: Any = None) -> dict[str, float]:
    """The best value of each metric over the epochs' logs (NaN ignored).

    Args:
        history: one dict of metric values per epoch.
        model: the model that produced them, asked for each metric's direction.
            Defaults to None: the direction comes from the metric's name.
    """
    best: dict[str, float] = {}
    directions: dict[str, Direction] = {}
    for row in history:
        for key, value in row.items():
            if key in _NOT_METRICS or math.isnan(value):
                continue
            if key not in directions:
                directions[key] = metric_direction(model, key)
            if key not in best or (value > best[key] if directions[key] == "max" else value < best[key]):
                best[key] = value
    return best
