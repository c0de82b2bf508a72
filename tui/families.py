"""Metric families: a run's log keys grouped as its charts and tables show them (all losses, then each metric).

A model with several outputs logs Keras' names: the total ``loss``, then
``<output>_loss`` and ``<output>_<metric>`` for each output (``label_loss``,
``label_accuracy``, ``score_mae``), each with a ``val_`` twin. The outputs are read
from those names, never listed here. A model with one output logs ``loss`` and its
metrics only. Pure functions, no Textual: the dashboard, the Runs screen and
``kwb show``/``kwb runs`` share them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Family", "bare", "base_names", "families", "headline", "is_loss", "metric_bases", "output_names"]


@dataclass(frozen=True)
class Family:
    """One chart's worth of log keys: ``title`` and the keys it draws, each followed by its ``val_`` twin."""

    title: str
    keys: tuple[str, ...]


def bare(key: str) -> str:
    """``val_label_loss`` -> ``label_loss``: the training key a validation key mirrors."""
    return key.removeprefix("val_")


def base_names(keys: Iterable[str]) -> list[str]:
    """The training names among ``keys`` (``val_`` twins folded in), in first-seen order."""
    return list(dict.fromkeys(bare(k) for k in keys))


def output_names(keys: Iterable[str]) -> list[str]:
    """The outputs of a model with several outputs, read from their ``<output>_loss`` keys; [] for one output.

    Keras logs a per-output loss only when there are two outputs or more, so one
    ``x_loss`` key alone (a metric of that name) does not make an output.
    """
    outputs = [b[: -len("_loss")] for b in base_names(keys) if b.endswith("_loss") and b != "loss"]
    return outputs if len(outputs) >= 2 else []


def is_loss(name: str, outputs: Iterable[str]) -> bool:
    """True for ``loss`` and an output's loss (``label_loss``), training or validation."""
    base = bare(name)
    return base == "loss" or any(base == f"{o}_loss" for o in outputs)


def metric_bases(keys: Iterable[str]) -> list[str]:
    """The training names of the metrics other than losses, in first-seen order."""
    keys = list(keys)
    outputs = output_names(keys)
    return [b for b in base_names(keys) if not is_loss(b, outputs)]


def families(keys: Iterable[str]) -> list[Family]:
    """The charts of a run with these log keys: all losses together, then one per metric.

    Every training name is drawn with its ``val_`` twin, listed even before it has a
    value (the first epoch), except the per-output losses of a run that does not
    validate: three empty legend entries would crowd the loss chart.
    """
    keys = list(keys)
    outputs = output_names(keys)
    bases = base_names(keys)
    validates = any(k.startswith("val_") for k in keys)
    losses = ["loss"] + [f"{o}_loss" for o in outputs]
    loss_keys: list[str] = []
    for name in losses:
        loss_keys += [name, f"val_{name}"] if validates or not outputs else [name]
    out = [Family("loss", tuple(loss_keys))]
    out += [Family(b, (b, f"val_{b}")) for b in bases if not is_loss(b, outputs)]
    return out


def headline(logs: dict[str, float]) -> dict[str, float]:
    """The few values that sum a run up: validation values when there are any, and with several
    outputs the total loss and each output's metrics, not its loss (``kwb runs``' BEST)."""
    picked = {k: v for k, v in logs.items() if k.startswith("val_")} or dict(logs)
    outputs = output_names(picked)
    if not outputs:
        return picked
    total = {k: v for k, v in picked.items() if bare(k) == "loss"}
    order = {name: i for i, name in enumerate(outputs)}

    def owner(key: str) -> int:
        return min((order[o] for o in outputs if bare(key).startswith(f"{o}_")), default=len(order))

    rest = sorted((k for k in picked if not is_loss(k, outputs)), key=owner)
    return total | {k: picked[k] for k in rest}
