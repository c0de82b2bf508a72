"""Model spec -> ``keras.Model``: build layer by layer, compile, summarize, check against the data.

Every failure here is a ``ModelError`` that names the offending key
(``model.layers[2].Conv2D``), so a shape mismatch points at the layer that caused
it. Existing models (``model.path``) are loaded with ``safe_mode=True``.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.config import RunConfig
from engine.errors import ModelError
from engine.fit_checks import check_against_data
from engine.graph import (
    build_graph, clean_keras_message, connected_to, input_names, make_layer, output_names, shape_text,
)  # fmt: skip
from engine.graph_spec import per_output, wiring_issues
from engine.layers import LOSSES, OPTIMIZERS, canonical_loss, canonical_optimizer

if TYPE_CHECKING:
    import keras


__all__ = [
    "SummaryRow",
    "ModelSummary",
    "build_model",
    "make_layer",
    "load_model_file",
    "model_file_problem",
    "compile_model",
    "output_names",
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
    inputs: list[str] = field(default_factory=list)
    """What feeds this layer (model inputs or layer names), as Keras' summary's "connected to"."""


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


def build_model(cfg: RunConfig, input_shape: Any = None) -> "keras.Model":
    """Build from ``model.layers`` with the functional API (or load ``model.path``).

    Args:
        cfg: the run config.
        input_shape: the data's sample shape (a tuple, or input name -> shape for several
            inputs), used where the config gives none. Defaults to None.

    Raises:
        ModelError: the first layer that cannot be made or wired, with its key path.
    """
    keras = _keras()
    if cfg.model.path:
        return load_model_file(cfg.model.path, unsafe=cfg.model.unsafe)
    build = build_graph(keras, cfg.model, input_shape)
    inputs = list(build.inputs.values())
    outputs = build.outputs
    return keras.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outputs[0] if len(outputs) == 1 else outputs,
        name=cfg.model.name or cfg.name.replace(".", "_"),
    )


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


UNSAFE_HINT = {"model.path": "set model.unsafe: true", "": "pass --unsafe"}
"""How to allow a Lambda layer, by the key the file came from (a config's model.path, or a verb's argument)."""


def load_model_file(path: str, *, unsafe: bool = False, key: str = "model.path") -> "keras.Model":
    """Load a ``.keras`` or legacy ``.h5`` model with ``safe_mode`` and without its compile state.

    A model saved by tf-keras (``multi_worker`` runs) switches a fresh process to tf-keras
    (see ``engine.kerasapi``), so ``kwb evaluate``/``predict``/``inspect`` work on it too.

    Args:
        path: the model file.
        unsafe: load with ``safe_mode=False``: a Lambda layer's Python code is deserialized and
            runs. Only for a file the user trusts and asked for explicitly. Defaults to False.
        key: the key errors name; "model.path" (a config) or "" (a verb's argument). Defaults to "model.path".

    Raises:
        ModelError: the file is missing or not a model, or holds a Lambda layer and ``unsafe`` is off.
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
        return keras.models.load_model(path, safe_mode=not unsafe, compile=False)
    except Exception as exc:
        text = clean_keras_message(exc)
        if not unsafe and "safe_mode" in text:
            raise ModelError(
                "holds a Lambda layer, whose Python code would run while loading (arbitrary code, Keras safe_mode "
                f"refuses it); if you trust this file, {UNSAFE_HINT.get(key, UNSAFE_HINT[''])}",
                source=path, key=key or None,
            ) from None  # fmt: skip
        raise ModelError(f"cannot load model: {text}", source=path, key=key or None) from None


def summary_of(model: "keras.Model") -> ModelSummary:
    """Rows for an already-built model (used by ``kwb inspect`` and the app), with each layer's inputs."""
    rows = []
    for i, layer in enumerate(model.layers):
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            shape = _output_text(layer.output)
        except Exception:
            shape = "?"
        rows.append(SummaryRow(i, layer.name, type(layer).__name__, shape, int(layer.count_params()), None,
                               connected_to(layer)))  # fmt: skip
    trainable = sum(int(_size(w)) for w in model.trainable_weights)
    total = sum(r.params for r in rows)
    return ModelSummary(rows, total, trainable)


def _output_text(output: Any) -> str:
    if isinstance(output, (list, tuple)):
        return ", ".join(shape_text(t.shape) for t in output)
    return shape_text(output.shape)


def _size(w: Any) -> int:
    n = 1
    for d in w.shape:
        n *= int(d)
    return n


def summarize(cfg: RunConfig, input_shape: Any = None) -> ModelSummary:
    """Build layer by layer, never raising: a bad layer's row carries the error.

    Rows of the layers fed by a failing layer are listed with shape "?", so the builder
    still shows the whole graph; independent branches are still built.
    """
    keras = _keras()
    summary = ModelSummary()
    if cfg.model.path:
        try:
            return summary_of(load_model_file(cfg.model.path, unsafe=cfg.model.unsafe))
        except ModelError as exc:
            summary.error = f"{exc.key}: {exc.message}"
            return summary
    try:
        build = build_graph(keras, cfg.model, input_shape, keep_going=True)
    except ModelError as exc:
        summary.error = f"{exc.key}: {exc.message}"
        return summary
    for step in build.steps:
        if step.tensor is None:
            name = step.layer.name if step.layer is not None else cfg.model.layers[step.index].get("name") or step.class_name
            summary.rows.append(SummaryRow(step.index, name, step.class_name, "?", 0, step.error, step.inputs))
            if step.error and summary.error is None:
                summary.error = f"{step.key}: {step.error}"
            continue
        params = int(step.layer.count_params())
        summary.rows.append(SummaryRow(step.index, step.layer.name, step.class_name, _output_text(step.tensor), params,
                                       None, step.inputs))  # fmt: skip
        summary.total_params += params
        summary.trainable_params += sum(_size(w) for w in step.layer.trainable_weights)
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
        raise ModelError(clean_keras_message(exc), key="compile.optimizer") from None


def _camel(snake: str) -> str:
    special = {"kl_divergence": "KLDivergence", "log_cosh": "LogCosh", "auc": "AUC"}
    return special.get(snake, "".join(p.capitalize() for p in snake.split("_")))


def make_loss(cfg: RunConfig, outputs: list[str] | None = None) -> Any:
    """``compile.loss`` for Keras: one loss, or output name -> loss.

    Args:
        cfg: the run config.
        outputs: the model's output names; with several, one loss is given to each. Defaults to None.
    """
    loss = cfg.compile.loss
    if per_output(loss):
        return {name: _one_loss(one, f"compile.loss.{name}") for name, one in loss.items()}
    if outputs and len(outputs) > 1:
        return {name: _one_loss(loss, "compile.loss") for name in outputs}
    return _one_loss(loss, "compile.loss")


def _one_loss(loss: Any, key: str) -> Any:
    if isinstance(loss, str):
        return canonical_loss(loss)
    keras = _keras()
    args = {k: v for k, v in loss.items() if k != "name"}
    name = canonical_loss(loss["name"])
    cls = getattr(keras.losses, _camel(name), None)
    if cls is None or name not in LOSSES:
        raise ModelError(f"unknown loss {loss['name']!r}", key=key)
    try:
        return cls(**args)
    except TypeError as exc:
        raise ModelError(clean_keras_message(exc), key=key) from None


def make_metrics(cfg: RunConfig, outputs: list[str] | None = None) -> list[Any] | dict[str, list[Any]]:
    """``compile.metrics`` for Keras: a list, or output name -> list (fresh metric objects for each output).

    Args:
        cfg: the run config.
        outputs: the model's output names; with several, a plain list is given to each. Defaults to None.
    """
    metrics = cfg.compile.metrics
    if isinstance(metrics, dict):
        return {name: _metric_list(listed, f"compile.metrics.{name}") for name, listed in metrics.items()}
    if outputs and len(outputs) > 1:
        return {name: _metric_list(metrics, "compile.metrics") for name in outputs}
    return _metric_list(metrics, "compile.metrics")


def _metric_list(metrics: list[Any], key: str) -> list[Any]:
    keras = _keras()
    out = []
    for i, metric in enumerate(metrics):
        if isinstance(metric, str):
            low = metric.lower()
            # An explicit name: Keras would call a second AUC() in this process "auc_1",
            # and monitors, charts and expected_metric_names all look for "auc".
            out.append(getattr(keras.metrics, _camel(low))(name=low) if low in ("auc", "precision", "recall") else low)
            continue
        args = {k: v for k, v in metric.items() if k != "name"}
        cls = getattr(keras.metrics, _camel(metric["name"].lower()), None)
        if cls is None:
            raise ModelError(f"unknown metric {metric['name']!r}", key=f"{key}[{i}]")
        try:
            out.append(cls(name=metric["name"].lower(), **args))
        except (TypeError, ValueError) as exc:
            raise ModelError(clean_keras_message(exc), key=f"{key}[{i}]") from None
    return out


def _jit_compile(value: bool | str) -> bool | str | None:
    """Keras 3 takes "auto"; tf-keras spells the same default None."""
    from engine.kerasapi import legacy

    return None if value == "auto" and legacy() else value


def compile_model(model: "keras.Model", cfg: RunConfig) -> "keras.Model":
    """Compile with the config's optimizer, loss(es), loss weights and metrics, each per output when keyed by name.

    Raises:
        ModelError: a bad optimizer, loss or metric argument, or (a loaded ``model.path``) a
            ``compile`` mapping naming an output the model does not have.
    """
    outputs = output_names(model)
    if cfg.model.path:  # a loaded model's names are known only now; a built one's were checked with the config
        issues = wiring_issues(input_names(model), outputs, cfg.compile.model_dump(), {})
        if issues:
            raise ModelError(issues[0][1], key=issues[0][0])
    model.compile(
        optimizer=make_optimizer(cfg),
        loss=make_loss(cfg, outputs),
        loss_weights=cfg.compile.loss_weights,
        metrics=make_metrics(cfg, outputs),
        steps_per_execution=1 if cfg.fit.steps_per_execution == "auto" else cfg.fit.steps_per_execution,
        jit_compile=_jit_compile(cfg.runtime.jit_compile),
    )
    return model
