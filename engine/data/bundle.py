"""What every source produces (``DataBundle``) and the shared steps: target inference, one-hot, checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import DataError, suggest

if TYPE_CHECKING:
    from engine.config import DataConfig


@dataclass
class Target:
    """What one named output's targets are: ``task``, and the classes of a classification target."""

    task: str
    """"classification" or "regression"."""
    num_classes: int | None = None
    class_names: list[str] | None = None


@dataclass
class DataBundle:
    """What a data source produced: arrays, or ``*_ds`` streaming datasets in their place.

    With several inputs (``data.x`` a mapping, or a source with named inputs such as
    synthetic ``two_inputs``) every ``x_*`` is a dict ``{input name: array}`` with the
    same rows in every array, ``input_names`` lists the names and ``input_shape`` is
    ``{name: shape}``; likewise ``y_*`` and ``output_names`` for several outputs, with
    ``targets`` describing each output. ``task`` / ``num_classes`` / ``class_names`` then
    describe the outputs together: the one output's, or for several outputs the common
    task ("mixed" when they differ) and no class count.
    """

    x_train: Any
    """An array, or ``{input name: array}``; None when streamed."""
    y_train: Any
    """An array, or ``{output name: array}``; None when streamed."""
    x_val: Any
    y_val: Any
    x_test: Any
    y_test: Any
    train_ds: Any = None
    """A ``keras.utils.PyDataset`` or ``tf.data.Dataset`` of (x, y) batches; then x_train/y_train are None."""
    val_ds: Any = None
    test_ds: Any = None
    input_shape: Any = ()
    """One sample, no batch dimension: a tuple, or ``{input name: tuple}`` for named inputs."""
    num_classes: int | None = None
    """None for regression."""
    class_names: list[str] | None = None
    task: str = "classification"
    """"classification" or "regression"."""
    description: str = ""
    """One line, e.g. "synthetic spirals: 1600 train / 400 val / 0 test, 2 classes"."""
    train_samples: int = 0
    val_samples: int = 0
    test_samples: int = 0
    input_names: tuple[str, ...] = ()
    """The input names when the inputs are named (``x_*`` are dicts); () for one unnamed input."""
    output_names: tuple[str, ...] = ()
    """The output names when the targets are named (``y_*`` are dicts); () for one unnamed target."""
    targets: dict[str, Target] = field(default_factory=dict)
    """Each named output's task and classes; empty for one unnamed target."""
    scaling: dict[str, Any] = field(default_factory=dict)
    """Input name ("" for one unnamed input) -> ``engine.preprocessing.Scaling`` fitted on the training
    split. The arrays and datasets stay raw: the scaling becomes the model's first layers."""
    features: dict[str, Any] = field(default_factory=dict)
    """String feature columns turned into model inputs (``engine.features``): input name -> vocabulary."""

    def model_input_shape(self) -> Any:
        """The sample shape ``engine.model.build_model`` takes: a tuple, ``{input name: tuple}``, or None."""
        shape = self.input_shape
        if isinstance(shape, dict):
            return {name: tuple(s) for name, s in shape.items()} or None
        return tuple(shape) if shape else None


def _kind(task: str, num_classes: int | None) -> str:
    return f"{num_classes} classes" if task == "classification" else "regression"


def _describe(label: str, b: DataBundle) -> str:
    """One line: the splits, then the target kind, or each named input and output."""
    head = f"{label}: {b.train_samples} train / {b.val_samples} val / {b.test_samples} test"
    if not b.input_names and not b.output_names:
        return f"{head}, {_kind(b.task, b.num_classes)}"
    if b.input_names:
        shapes = b.input_shape if isinstance(b.input_shape, dict) else {}
        ins = ", ".join(f"{n} {tuple(shapes.get(n, ()))}" for n in b.input_names)
        head += f"; inputs {ins}"
    if b.output_names:
        outs = ", ".join(f"{n} {_kind(t.task, t.num_classes)}" for n, t in b.targets.items())
        head += f"; outputs {outs}"
    else:
        head += f"; {_kind(b.task, b.num_classes)}"
    return head


def _set_targets(b: DataBundle, targets: dict[str, Target]) -> None:
    """Record named outputs on ``b``; its ``task`` / ``num_classes`` / ``class_names`` then describe them together."""
    b.targets = targets
    b.output_names = tuple(targets)
    tasks = {t.task for t in targets.values()}
    if len(targets) == 1:
        only = next(iter(targets.values()))
        b.task, b.num_classes, b.class_names = only.task, only.num_classes, only.class_names
    else:
        b.task = tasks.pop() if len(tasks) == 1 else "mixed"
        b.num_classes = b.class_names = None


# ================================================================ targets
def _is_one_hot(y: np.ndarray) -> bool:
    if y.ndim != 2 or y.shape[1] < 2 or not np.issubdtype(y.dtype, np.number) or not len(y):
        return False
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())


def _infer_task(y: np.ndarray, *others: np.ndarray) -> tuple[str, int | None]:
    if _is_one_hot(y):
        return "classification", int(y.shape[1])
    if np.issubdtype(y.dtype, np.integer) and y.ndim == 1 and (not len(y) or y.min() >= 0):
        top = max(int(a.max()) for a in (y, *others) if len(a)) if len(y) else 0
        return "classification", top + 1
    return "regression", None


def _one_hot(y: np.ndarray, task: str, num_classes: int | None) -> np.ndarray:
    if _is_one_hot(y):
        return y.astype("float32")
    if task != "classification" or num_classes is None:
        raise DataError("needs integer class labels, but the targets are not (regression data?)", key="data.one_hot")
    return np.eye(num_classes, dtype="float32")[y]


def _as_float(x: np.ndarray) -> np.ndarray:
    return x.astype("float32") if x.dtype == np.float64 else x


def _fix_arrays(x: np.ndarray, y: np.ndarray, source: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Common checks: sample counts match, 1-D inputs become one feature, (n, 1) labels flatten."""
    if x.ndim == 0 or y.ndim == 0:
        raise DataError("x and y must be arrays with one row per sample, got a scalar", source=source, key=key)
    if len(x) != len(y):
        raise DataError(f"x has {len(x)} samples but y has {len(y)}; they must match", source=source, key=key)
    if not len(x):
        raise DataError("holds no samples", source=source, key=key)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if np.issubdtype(y.dtype, np.integer) and y.dtype != np.int32 and y.ndim == 1:
        y = y.astype("int32")
    return _as_float(x), _as_float(y)


def _check_file(path: str, key: str | None, what: str) -> None:
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", source=path, key=key)
    if p.is_dir():
        raise DataError(f"is a folder, expected {what}", source=path, key=key)
    if p.stat().st_size == 0:
        raise DataError(f"file is empty, expected {what}", source=path, key=key)


def _need_name(cfg: "DataConfig", choices: tuple[str, ...]) -> str:
    if not cfg.name:
        raise DataError(f"is required for source {cfg.source!r}; choose one of: {', '.join(choices)}", key="data.name")
    if cfg.name not in choices:
        raise DataError(
            f"unknown {cfg.source} dataset {cfg.name!r}{suggest(cfg.name, choices)}; "
            f"choose one of: {', '.join(choices)}",
            key="data.name",
        )
    return cfg.name


def _need_path(cfg: "DataConfig") -> str:
    if not cfg.path:
        raise DataError(f"is required for source {cfg.source!r}", key="data.path")
    return cfg.path
