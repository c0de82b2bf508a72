"""``explain``: a training failure's cause in a line, and for known causes what to change.

TensorFlow wraps the real cause of a failed step in a long message ("Graph execution
error:", the Python frames where the failing node was defined, ``[[{{node …}}]]``), and
Keras wraps a layer's complaint in "Exception encountered when calling …" and the call's
arguments. ``explain`` keeps the line that says what went wrong; where that line and the
frames or node name show a known mismatch between the labels and the model's output, metric
or loss, it adds a hint naming the setting to change. Every hint is matched on a message
reproduced by training a tiny real model (``tests/engine/test_diagnose.py``).

Stdlib only (and the light ``engine.cluster``, which names a lost worker): the model, when given, is only asked for
its loss, compiled metrics and output shape.
"""

from __future__ import annotations

import re
import traceback
from typing import Any, NamedTuple

__all__ = ["Diagnosis", "explain"]

CAUSE_LIMIT = 300
"""Longest cause kept, in characters (the full text is in error.txt)."""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NODE = re.compile(r"\{\{node ([^}]+)\}\}")
_FRAME = re.compile(r'File "([^"]+)", line \d+, in (\S+)')
_NOISE = (
    "Graph execution error:",
    "Detected at node",
    "File \"",
    "[[{{node",
    "Exception encountered when calling",
    "Arguments received by",
    "•",
)
"""Lines of a TensorFlow or Keras message that are context, not the cause."""

_CONFUSION_METRICS = "/keras/src/metrics/confusion_metrics.py"
"""Where Keras defines AUC, Precision, Recall …: metrics that compare the labels with every output column."""


class Diagnosis(NamedTuple):
    """What went wrong (``cause``, one line) and, for a known cause, what to change (``hint``)."""

    cause: str
    hint: str | None = None

    @property
    def text(self) -> str:
        """The cause, then the hint on a second line when there is one."""
        return self.cause if self.hint is None else f"{self.cause}\n{self.hint}"


def explain(exc: BaseException, model: Any = None) -> Diagnosis:
    """Why ``exc`` ended a run: its meaningful line and, when the cause is known, a hint.

    Args:
        exc: what ``fit`` (or the code around it) raised.
        model: the compiled model being trained, asked for its loss, metrics and output
            width to name them in the hint. Defaults to None (hints name no metric).
    """
    text = _ANSI.sub("", str(exc))
    from engine.cluster import lost_workers  # light: stdlib and engine.errors

    if lost := lost_workers(text):
        lost = f"a worker ({lost})" if lost.startswith("one of ") else lost
        return Diagnosis(
            f"lost {lost}: it stopped answering (crashed, killed or cut off), and a multi_worker run cannot go on without it",
            "start the run again on every worker (a multi_worker run cannot be resumed)",
        )
    cause = f"{type(exc).__name__}: {_meaningful_line(text)}"
    if len(cause) > CAUSE_LIMIT:
        cause = cause[: CAUSE_LIMIT - 1] + "…"
    return Diagnosis(cause, _hint(text, _frames(exc, text), model))


def _meaningful_line(text: str) -> str:
    """The first line that says what went wrong, without TensorFlow's node and stack dump."""
    kept = [line for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith(_NOISE)]
    line = kept[0] if kept else text.strip().partition("\n")[0]
    line = re.sub(r"\s*\[Op:[^\]]*\]$", "", line)
    line = re.sub(r"^\(\d+\) [A-Z_]+:\s*", "", line)  # "(0) INVALID_ARGUMENT:  …" of several root errors
    line = re.sub(r" for '\{\{node [^']*'", "", line)  # the graph op's definition, for a graph-building error
    return re.split(r"\s+Label values:", line)[0]


def _frames(exc: BaseException, text: str) -> list[tuple[str, str]]:
    """(file, function) of the Python frames and of the frames TensorFlow names in its message."""
    frames = [(f.filename, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    return frames + [(m.group(1), m.group(2)) for m in _FRAME.finditer(text)]


# ---------------------------------------------------------------- hints
def _hint(text: str, frames: list[tuple[str, str]], model: Any) -> str | None:
    nodes = _NODE.findall(text)
    if "segment_ids" in text or any(path.endswith(_CONFUSION_METRICS) for path, _ in frames):
        return _metric_hint(model)
    label = re.search(r"Received a label value of (\d+) which is outside the valid range of \[0, (\d+)\)", text)
    if label:
        top, width = int(label.group(1)), int(label.group(2))
        return (f"the labels go up to {top} but the last layer outputs {width} values: give the last layer "
                f"one unit per class (at least {top + 1})")  # fmt: skip
    if "must have rank (ndim) `target.ndim - 1`" in text:
        return ("sparse_categorical_crossentropy takes class indices, but these labels are one-hot "
                "(a column per class): use loss categorical_crossentropy, or set data.one_hot: false")  # fmt: skip
    shapes = re.search(r"target\.shape=\(([^)]*)\), output\.shape=\(([^)]*)\)", text)
    if shapes and "same rank" in text:
        return _rank_hint(_loss_name(model, frames), _last(shapes.group(2)))
    if shapes and "same shape" in text:
        labels, outputs = _last(shapes.group(1)), _last(shapes.group(2))
        return f"the labels have {labels} columns but the last layer outputs {outputs}: set its units to {labels}"
    loss_node = next((n.split("compile_loss/", 1)[1] for n in nodes if "compile_loss/" in n), None)
    if loss_node and ("Incompatible shapes" in text or "Dimensions must be equal" in text):
        loss = loss_node.split("/", 1)[0]
        width = _output_width(model)
        outputs = f"{width} values" if width else "several values"
        return (f"{loss} compares each label with the model's output, and these differ in shape (the model "
                f"outputs {outputs} per sample): for class labels use loss sparse_categorical_crossentropy; "
                "for regression give the last layer one unit per target")  # fmt: skip
    if ("Incompatible shapes" in text or "Dimensions must be equal" in text) and _confusion_metric_names(model):
        return _metric_hint(model)  # a shape clash outside the loss, in a model with such metrics
    return None


def _metric_hint(model: Any) -> str:
    names = _confusion_metric_names(model)
    which = ", ".join(names) if names else "a metric such as auc, precision or recall"
    width = _output_width(model)
    outputs = f"each of the model's {width} outputs" if width else "each of the model's outputs"
    return (f"{which} compares the labels with {outputs}, but the labels are class indices (one per sample): "
            "remove it from compile.metrics, or use one-hot labels (data.one_hot: true with loss "
            "categorical_crossentropy)")  # fmt: skip


def _rank_hint(loss: str | None, outputs: str) -> str:
    if loss == "categorical_crossentropy":
        return ("categorical_crossentropy takes one-hot labels, but these are class indices (one per sample): "
                "use loss sparse_categorical_crossentropy, or set data.one_hot: true")  # fmt: skip
    if loss == "binary_crossentropy":
        return (f"binary_crossentropy takes one label per output, but the last layer outputs {outputs} values: for "
                "two classes use a 1-unit sigmoid last layer; for more, loss sparse_categorical_crossentropy")  # fmt: skip
    return (f"{loss or 'the loss'} takes labels shaped like the output ({outputs} values per sample), but these are "
            "class indices (one per sample): use loss sparse_categorical_crossentropy, or set data.one_hot: true")  # fmt: skip


def _last(shape: str) -> str:
    """The last dimension of a shape written as "None, 3" ("1" for a one-dimensional shape)."""
    parts = [p.strip() for p in shape.split(",") if p.strip()]
    return parts[-1] if len(parts) > 1 else "1"


def _confusion_metric_names(model: Any) -> list[str]:
    """The compiled metrics defined next to AUC (they compare the labels with every output column)."""
    names: list[str] = []
    todo = list(getattr(model, "metrics", None) or [])
    while todo:
        metric = todo.pop(0)
        todo.extend(getattr(metric, "metrics", None) or [])  # Keras' CompileMetrics holds the user's
        module = getattr(type(metric), "__module__", "")
        if module.endswith("metrics.confusion_metrics"):
            names.append(str(getattr(metric, "name", type(metric).__name__)))
    return names


def _loss_name(model: Any, frames: list[tuple[str, str]]) -> str | None:
    """The compiled loss by name, or the loss function Keras was in when it raised."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        return loss
    if loss is not None:
        return str(getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__)
    return next((name for path, name in reversed(frames) if name.endswith("crossentropy")), None)


def _output_width(model: Any) -> int | None:
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        return None
    return shape[-1] if isinstance(shape, tuple) and shape and isinstance(shape[-1], int) else None
