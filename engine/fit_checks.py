"""Model against data before ``fit``: the classic mismatches (sample shape, class count, one-hot), per input and output.

``engine.model`` builds and compiles; this module compares the built model with the
``DataBundle`` (``engine.data``) and raises a ``ModelError``/``DataError`` naming the key
to fix. With several inputs or outputs each is checked by name (``data.x: no data for
input 'meta'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.config import RunConfig
from engine.errors import DataError, ModelError, suggest
from engine.graph import input_names, output_names, shape_text
from engine.graph_spec import layer_class, per_output
from engine.layers import canonical_loss

if TYPE_CHECKING:
    import keras

    from engine.data import DataBundle

__all__ = ["check_against_data"]


def check_against_data(model: "keras.Model", cfg: RunConfig, data: "DataBundle") -> None:
    """Catch the classic mismatches before ``fit`` does, with the key to fix.

    Raises:
        ModelError: a sample shape or an output size the data does not match.
        DataError: an input or output the data has no arrays for.
    """
    inputs = input_names(model)
    if len(inputs) > 1 or isinstance(data.input_shape, dict):
        _check_named_inputs(model, inputs, data)
    else:
        _check_one_input(model, data)
    outputs = output_names(model)
    if len(outputs) > 1 or data.output_names:
        _check_named_outputs(model, cfg, outputs, data)
        return
    out = model.output_shape
    if isinstance(out, list) or data.num_classes is None:
        return
    last = "model.path"
    if cfg.model.layers:
        last = f"model.layers[{len(cfg.model.layers) - 1}].{layer_class(cfg.model.layers[-1])}.units"
    _check_output(cfg, "the last layer", out[-1], cfg.compile.loss, data.num_classes, data.y_train, last)


def _check_one_input(model: Any, data: "DataBundle") -> None:
    want = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    have = tuple(data.input_shape)
    if want is not None and have and len(want) == len(have):
        if any(w is not None and w != h for w, h in zip(want, have)):
            raise ModelError(
                f"the model takes samples of shape {shape_text(want)} but the data's are {shape_text(have)}",
                key="model.input_shape",
            )
    elif want is not None and have and len(want) != len(have):
        raise ModelError(
            f"the model takes samples of shape {shape_text(want)} but the data's are {shape_text(have)} "
            "(add a Flatten or Reshape layer, or fix model.input_shape)",
            key="model.input_shape",
        )


def _check_named_inputs(model: Any, names: list[str], data: "DataBundle") -> None:
    shapes = data.input_shape
    if not isinstance(shapes, dict):
        listed = ", ".join(names)
        raise DataError(
            f"the model has {len(names)} inputs ({listed}) but the data has one array; map each input to its data: "
            f"x: {{{', '.join(f'{n}: ...' for n in names)}}}",
            key="data.x",
        )
    if len(names) == 1 and len(shapes) > 1:
        raise ModelError(
            f"the data has {len(shapes)} inputs ({', '.join(shapes)}) and the model one: name them in model.inputs "
            f"with their shapes, e.g. inputs: {{{', '.join(f'{n}: {list(s)}' for n, s in shapes.items())}}}",
            key="model.inputs",
        )
    for name in shapes:
        if name not in names:
            raise DataError(f"{name!r} is not a model input{suggest(name, names)}", key="data.x")
    for name, tensor in zip(names, model.inputs):
        if name not in shapes:
            raise DataError(f"no data for input {name!r}", key="data.x")
        want, have = tuple(tensor.shape[1:]), tuple(shapes[name])
        if len(want) != len(have) or any(w is not None and w != h for w, h in zip(want, have)):
            raise ModelError(
                f"the model takes samples of shape {shape_text(want)} but the data's are {shape_text(have)}",
                key=f"model.inputs.{name}",
            )


def _check_named_outputs(model: Any, cfg: RunConfig, names: list[str], data: "DataBundle") -> None:
    if not data.output_names:
        if data.y_train is None and data.train_ds is not None:
            return  # a stream yields its own structure; Keras checks it
        raise DataError(
            f"the model has {len(names)} outputs ({', '.join(names)}) but the data has one target; map each output "
            f"to its data: y: {{{', '.join(f'{n}: ...' for n in names)}}}",
            key="data.y",
        )
    for name in data.output_names:
        if name not in names:
            raise DataError(f"{name!r} is not a model output{suggest(name, names)}", key="data.y")
    shapes = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
    where = {e.get("name"): i for i, e in enumerate(cfg.model.layers)}
    for name, shape in zip(names, shapes):
        if name not in data.output_names:
            raise DataError(f"no data for output {name!r}", key="data.y")
        target = data.targets.get(name)
        if target is None or target.task != "classification" or target.num_classes is None:
            continue
        loss = cfg.compile.loss[name] if per_output(cfg.compile.loss) else cfg.compile.loss
        key = "model.path"
        if name in where:
            key = f"model.layers[{where[name]}].{layer_class(cfg.model.layers[where[name]])}.units"
        y = data.y_train.get(name) if isinstance(data.y_train, dict) else None
        _check_output(cfg, f"the output {name!r}", shape[-1], loss, target.num_classes, y, key)


def _check_output(cfg: RunConfig, what: str, units: Any, loss: Any, k: int, y: Any, key: str) -> None:
    """One classification output against its class count ``k`` and targets ``y``."""
    loss = canonical_loss(loss if isinstance(loss, str) else str(loss.get("name", "")))
    if loss == "sparse_categorical_crossentropy" and units != k:
        raise ModelError(f"{what} outputs {units} values but the data has {k} classes (set its units to {k})", key=key)
    if loss in ("categorical_crossentropy", "categorical_hinge") and units != k:
        raise ModelError(f"{what} outputs {units} values but the data has {k} classes", key=key)
    if loss == "categorical_crossentropy" and not cfg.data.one_hot and y is not None and getattr(y, "ndim", 2) == 1:
        raise ModelError(
            "categorical_crossentropy needs one-hot targets: set data.one_hot: true, "
            "or use sparse_categorical_crossentropy",
            key="compile.loss",
        )
    if loss == "binary_crossentropy" and k == 2 and units not in (1, None):
        raise ModelError(
            f"binary_crossentropy with 2 classes needs 1 output unit (sigmoid), {what} has {units}", key=key
        )
