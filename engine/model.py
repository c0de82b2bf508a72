"""Model spec -> ``keras.Model``: build layer by layer, compile, summarize, check against the data.

Every failure here is a ``ModelError`` that names the offending key
(``model.layers[2].Conv2D``), so a shape mismatch points at the layer that caused
it. Existing models (``model.path``) are loaded with ``safe_mode=True``.
"""

from __future__ import annotations

import inspect
import os
import re
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.config import RunConfig
from engine.errors import ModelError, suggest
from engine.layers import LOSSES, OPTIMIZERS, canonical_loss, canonical_optimizer

if TYPE_CHECKING:
    import keras

    from engine.data import DataBundle

__all__ = [
    "SummaryRow",
    "ModelSummary",
    "build_model",
    "load_model_file",
    "model_file_problem",
    "compile_model",
    "summarize",
    "summary_of",
    "check_against_data",
]


@dataclass
class SummaryRow:
    """One layer as the builder shows it. ``index`` is the position in ``model.layers``."""

    index: int | None
    name: str
    class_name: str
    output_shape: str
    params: int
    error: str | None = None


@dataclass
class ModelSummary:
    rows: list[SummaryRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    error: str | None = None
    """The first problem, already prefixed with its key path; None when the model builds."""


def _keras():
    from engine.kerasapi import keras

    return keras()


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


def _clean_keras_message(exc: BaseException) -> str:
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
    """Instantiate one ``{Name: kwargs}`` entry, or raise ModelError naming it."""
    (name, kwargs), = entry.items()
    kwargs = kwargs or {}
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
        raise ModelError(_clean_keras_message(exc), key=key) from None
    except KeyError as exc:
        raise ModelError(_clean_keras_message(exc), key=key) from None


def _input_shape(cfg: RunConfig, data_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    if cfg.model.input_shape:
        return tuple(cfg.model.input_shape)
    if data_shape:
        return tuple(data_shape)
    raise ModelError("give the shape of one sample, e.g. [2] or [28, 28]", key="model.input_shape")


def build_model(cfg: RunConfig, input_shape: tuple[int, ...] | None = None) -> "keras.Model":
    """Build from ``model.layers`` (or load ``model.path``). ``input_shape`` defaults from config."""
    keras = _keras()
    if cfg.model.path:
        return load_model_file(cfg.model.path)
    shape = _input_shape(cfg, input_shape)
    inputs = keras.Input(shape=shape, name="input")
    x = inputs
    for i, entry in enumerate(cfg.model.layers):
        layer = make_layer(keras, i, entry)
        try:
            x = layer(x)
        except Exception as exc:  # Keras raises ValueError/TypeError/InvalidArgument variants
            (name,) = entry
            raise ModelError(
                f"does not fit its input of shape {_shape_text(x.shape)}: {_clean_keras_message(exc)}",
                key=f"model.layers[{i}].{name}",
            ) from None
    return keras.Model(inputs, x, name=cfg.model.name or cfg.name.replace(".", "_"))


def _saved_by_tf_keras(path: str) -> bool:
    """True for a ``.keras`` file written by tf-keras (a multi_worker run); Keras 3 cannot rebuild its classes."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return str(json.loads(zf.read("config.json")).get("module", "")).startswith("tf_keras")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False


def model_file_problem(path: str) -> str | None:
    """Why ``path`` cannot be a model file (missing, a folder, another kind of file); None if it may be one.

    Only looks at the file system (no Keras): the app asks before loading, in a worker, what passes.
    """
    if not path.strip():
        return "no path given; expected a .keras or .h5 model file"
    if not os.path.exists(path):
        return "file not found"
    if os.path.isdir(path):
        return "is a folder; expected a .keras or .h5 model file"
    if not path.endswith((".keras", ".h5", ".hdf5")):
        return "expected a .keras or .h5 model file"
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        return "is not a .keras model (a .keras file is a zip archive)"  # Keras itself says "File not found"
    return None


def load_model_file(path: str) -> "keras.Model":
    """Load a ``.keras`` or legacy ``.h5`` model with ``safe_mode`` and without its compile state.

    A model saved by tf-keras (``multi_worker`` runs) switches a fresh process to tf-keras
    (see ``engine.kerasapi``), so ``kwb evaluate``/``predict``/``inspect`` work on it too.
    """
    import sys

    from engine.kerasapi import LEGACY_ENV, legacy

    if path.endswith(".keras") and not legacy() and _saved_by_tf_keras(path):
        if "keras" in sys.modules or "tensorflow" in sys.modules:
            raise ModelError(
                "this model was saved by tf-keras (a multi_worker run); open it with kwb evaluate, "
                "predict or inspect, or in Python with tf_keras.models.load_model",
                source=path, key="model.path",
            )  # fmt: skip
        os.environ[LEGACY_ENV] = "1"
    keras = _keras()
    problem = model_file_problem(path)
    if problem:
        raise ModelError(problem, source=path, key="model.path")
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:
        raise ModelError(f"cannot load model: {_clean_keras_message(exc)}", source=path, key="model.path") from None


def _shape_text(shape: Any) -> str:
    try:
        dims = tuple(shape)
    except TypeError:
        return str(shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"


def summary_of(model: "keras.Model") -> ModelSummary:
    """Rows for an already-built model (used by ``kwb inspect`` and the app)."""
    rows = []
    for i, layer in enumerate(model.layers):
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            shape = _shape_text(layer.output.shape)
        except Exception:
            shape = "?"
        rows.append(SummaryRow(i, layer.name, type(layer).__name__, shape, int(layer.count_params())))
    trainable = sum(int(_size(w)) for w in model.trainable_weights)
    total = sum(r.params for r in rows)
    return ModelSummary(rows, total, trainable)


def _size(w: Any) -> int:
    n = 1
    for d in w.shape:
        n *= int(d)
    return n


def summarize(cfg: RunConfig, input_shape: tuple[int, ...] | None = None) -> ModelSummary:
    """Build layer by layer, never raising: the first bad layer's row carries the error.

    Rows after a failing layer are listed with shape "?" so the builder still shows
    the whole stack.
    """
    keras = _keras()
    summary = ModelSummary()
    if cfg.model.path:
        try:
            return summary_of(load_model_file(cfg.model.path))
        except ModelError as exc:
            summary.error = f"{exc.key}: {exc.message}"
            return summary
    try:
        shape = _input_shape(cfg, input_shape)
    except ModelError as exc:
        summary.error = f"{exc.key}: {exc.message}"
        return summary
    x = keras.Input(shape=shape)
    broken = False
    for i, entry in enumerate(cfg.model.layers):
        name = next(iter(entry)) if isinstance(entry, dict) and entry else "?"
        if broken:
            summary.rows.append(SummaryRow(i, name, name, "?", 0))
            continue
        try:
            layer = make_layer(keras, i, entry)
        except ModelError as exc:
            summary.rows.append(SummaryRow(i, name, name, "?", 0, exc.message))
            summary.error = f"{exc.key}: {exc.message}"
            broken = True
            continue
        try:
            x = layer(x)
        except Exception as exc:
            msg = f"does not fit its input of shape {_shape_text(x.shape)}: {_clean_keras_message(exc)}"
            summary.rows.append(SummaryRow(i, layer.name, name, "?", 0, msg))
            summary.error = f"model.layers[{i}].{name}: {msg}"
            broken = True
            continue
        params = int(layer.count_params())
        summary.rows.append(SummaryRow(i, layer.name, name, _shape_text(x.shape), params))
        summary.total_params += params
        summary.trainable_params += sum(_size(w) for w in layer.trainable_weights)
    return summary


# ---------------------------------------------------------------- compile
def make_optimizer(cfg: RunConfig) -> Any:
    keras = _keras()
    opt = cfg.compile.optimizer
    class_name = OPTIMIZERS[canonical_optimizer(opt.name)][0]
    kwargs = {"learning_rate": opt.learning_rate, **(opt.model_extra or {})}
    try:
        return getattr(keras.optimizers, class_name)(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelError(_clean_keras_message(exc), key="compile.optimizer") from None


def _camel(snake: str) -> str:
    special = {"kl_divergence": "KLDivergence", "log_cosh": "LogCosh", "auc": "AUC"}
    return special.get(snake, "".join(p.capitalize() for p in snake.split("_")))


def make_loss(cfg: RunConfig) -> Any:
    keras = _keras()
    loss = cfg.compile.loss
    if isinstance(loss, str):
        return canonical_loss(loss)
    args = {k: v for k, v in loss.items() if k != "name"}
    name = canonical_loss(loss["name"])
    cls = getattr(keras.losses, _camel(name), None)
    if cls is None or name not in LOSSES:
        raise ModelError(f"unknown loss {loss['name']!r}", key="compile.loss")
    try:
        return cls(**args)
    except TypeError as exc:
        raise ModelError(_clean_keras_message(exc), key="compile.loss") from None


def make_metrics(cfg: RunConfig) -> list[Any]:
    keras = _keras()
    out = []
    for i, metric in enumerate(cfg.compile.metrics):
        if isinstance(metric, str):
            low = metric.lower()
            # An explicit name: Keras would call a second AUC() in this process "auc_1",
            # and monitors, charts and expected_metric_names all look for "auc".
            out.append(getattr(keras.metrics, _camel(low))(name=low) if low in ("auc", "precision", "recall") else low)
            continue
        args = {k: v for k, v in metric.items() if k != "name"}
        cls = getattr(keras.metrics, _camel(metric["name"].lower()), None)
        if cls is None:
            raise ModelError(f"unknown metric {metric['name']!r}", key=f"compile.metrics[{i}]")
        try:
            out.append(cls(name=metric["name"].lower(), **args))
        except (TypeError, ValueError) as exc:
            raise ModelError(_clean_keras_message(exc), key=f"compile.metrics[{i}]") from None
    return out


def _jit_compile(value: bool | str) -> bool | str | None:
    """Keras 3 takes "auto"; tf-keras spells the same default None."""
    from engine.kerasapi import legacy

    return None if value == "auto" and legacy() else value


def compile_model(model: "keras.Model", cfg: RunConfig) -> "keras.Model":
    model.compile(
        optimizer=make_optimizer(cfg),
        loss=make_loss(cfg),
        metrics=make_metrics(cfg),
        steps_per_execution=cfg.fit.steps_per_execution,
        jit_compile=_jit_compile(cfg.runtime.jit_compile),
    )
    return model


def check_against_data(model: "keras.Model", cfg: RunConfig, data: "DataBundle") -> None:
    """Catch the classic mismatches before ``fit`` does, with the key to fix."""
    want = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    have = tuple(data.input_shape)
    if want is not None and have and len(want) == len(have):
        if any(w is not None and w != h for w, h in zip(want, have)):
            raise ModelError(
                f"the model takes samples of shape {_shape_text(want)} but the data's are {_shape_text(have)}",
                key="model.input_shape",
            )
    elif want is not None and have and len(want) != len(have):
        raise ModelError(
            f"the model takes samples of shape {_shape_text(want)} but the data's are {_shape_text(have)} "
            "(add a Flatten or Reshape layer, or fix model.input_shape)",
            key="model.input_shape",
        )
    out = model.output_shape
    if isinstance(out, list) or data.num_classes is None:
        return
    units = out[-1]
    last = "model.path"
    if cfg.model.layers:
        last_name = next(iter(cfg.model.layers[-1]))
        last = f"model.layers[{len(cfg.model.layers) - 1}].{last_name}.units"
    loss = cfg.compile.loss if isinstance(cfg.compile.loss, str) else cfg.compile.loss.get("name", "")
    loss = canonical_loss(loss)
    k = data.num_classes
    if loss == "sparse_categorical_crossentropy" and units != k:
        raise ModelError(
            f"the last layer outputs {units} values but the data has {k} classes "
            f"(set its units to {k})",
            key=last,
        )
    if loss in ("categorical_crossentropy", "categorical_hinge") and units != k:
        raise ModelError(f"the last layer outputs {units} values but the data has {k} classes", key=last)
    if loss == "categorical_crossentropy" and not cfg.data.one_hot and data.y_train is not None:
        if getattr(data.y_train, "ndim", 2) == 1:
            raise ModelError(
                "categorical_crossentropy needs one-hot targets: set data.one_hot: true, "
                "or use sparse_categorical_crossentropy",
                key="compile.loss",
            )
    if loss == "binary_crossentropy" and k == 2 and units not in (1, None):
        raise ModelError(
            f"binary_crossentropy with 2 classes needs 1 output unit (sigmoid), the last layer has {units}",
            key=last,
        )
