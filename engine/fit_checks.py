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

__all__ = ["check_against_data", "check_labels"]


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
    if isinstance(out, list):
        return
    last = "model.path"
    if cfg.model.layers:
        last = f"model.layers[{len(cfg.model.layers) - 1}].{layer_class(cfg.model.layers[-1])}.units"
    if data.num_classes is not None:
        _check_output(cfg, "the last layer", out[-1], cfg.compile.loss, data.num_classes, data.y_train, last)
    ys = {"training": data.y_train, "validation": data.y_val, "test": data.y_test}
    check_labels(cfg, "the last layer", out[-1], cfg.compile.loss, ys, last, _target_key(cfg, ""))


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
        ys = {split: arrays.get(name) for split, arrays in _named_splits(data).items()}
        check_labels(cfg, f"the output {name!r}", shape[-1], loss, ys, key, _target_key(cfg, name))


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


def _named_splits(data: "DataBundle") -> dict[str, dict[str, Any]]:
    splits = {"training": data.y_train, "validation": data.y_val, "test": data.y_test}
    return {split: y for split, y in splits.items() if isinstance(y, dict)}


def _target_key(cfg: RunConfig, name: str) -> str:
    """The key that says where a target comes from: ``data.y`` (or one output's), a CSV's ``data.target``."""
    if name:
        return f"data.y.{name}"
    return "data.target" if cfg.data.source == "csv" else "data.y"


def check_labels(cfg: RunConfig, what: str, units: Any, loss: Any, ys: dict[str, Any], key: str, data_key: str) -> None:
    """Targets against the loss and the output they train: class numbers in ``[0, units)``, one-hot width, 0/1.

    Shared by ``check_against_data`` (every split of in-memory data) and the one-batch probe
    (``engine.batch_probe``: the first batch of a streamed source).

    Args:
        cfg: the run config.
        what: the output in words ("the last layer", "the output 'label'").
        units: the output's last dimension (None when unknown).
        loss: that output's loss, a name or ``{name: ..., ...}``.
        ys: split name -> targets (None or empty splits are skipped).
        key: the key that sets the output's size.
        data_key: the key that names the targets.

    Raises:
        ModelError: one-hot targets with sparse_categorical_crossentropy, or a one-hot width
            that differs from the output's units.
        DataError: a class number outside ``[0, units)``, or a binary target outside [0, 1].
    """
    import numpy as np

    name = canonical_loss(loss if isinstance(loss, str) else str(loss.get("name", "")))
    for split, y in ys.items():
        if y is None or not len(y) or not hasattr(y, "ndim"):
            continue
        y = np.asarray(y)
        wide = y.ndim >= 2 and y.shape[-1] > 1
        if name == "sparse_categorical_crossentropy" and wide:
            fix = "set data.one_hot: false, or use" if cfg.data.one_hot else "use"
            raise ModelError(
                f"sparse_categorical_crossentropy takes class numbers, but the targets are one-hot ({y.shape[-1]} "
                f"columns): {fix} loss categorical_crossentropy", key="compile.loss",
            )  # fmt: skip
        if name == "sparse_categorical_crossentropy" and isinstance(units, int):
            _class_numbers(y, units, what, split, data_key, _file_of(cfg, split))
        if name in ("categorical_crossentropy", "categorical_hinge") and wide and units not in (None, y.shape[-1]):
            raise ModelError(
                f"{what} outputs {units} values but the one-hot targets have {y.shape[-1]} columns "
                f"(set its units to {y.shape[-1]})", key=key,
            )  # fmt: skip
        if name == "binary_crossentropy" and y.dtype.kind in "iuf" and ((y < 0) | (y > 1)).any():
            bad = y[(y < 0) | (y > 1)].reshape(-1)[0]
            raise DataError(f"binary_crossentropy takes targets between 0 and 1; the {split} split has {bad:g}",
                            key=data_key, source=_file_of(cfg, split))  # fmt: skip


def _file_of(cfg: RunConfig, split: str) -> str | None:
    """The file a split's targets came from: its own validation / test file, else ``data.path``."""
    ref = {"validation": cfg.data.validation, "test": cfg.data.test}.get(split)
    return ref.path if ref is not None else cfg.data.path


def _class_numbers(y: Any, units: int, what: str, split: str, data_key: str, source: str | None) -> None:
    """Refuse a sparse label that is not a whole number in ``[0, units)``."""
    import numpy as np

    if y.dtype.kind not in "iuf":
        return
    flat = y.reshape(-1)
    bad = (flat < 0) | (flat >= units)
    if flat.dtype.kind == "f":
        bad |= ~np.isfinite(flat) | (np.floor(flat) != flat)
    if bad.any():
        first = flat[bad][0]
        raise DataError(
            f"sparse_categorical_crossentropy takes class numbers 0 to {units - 1} ({what} has {units} units), "
            f"but the {split} split has {first:g} ({int(bad.sum())} such label{'s' * (int(bad.sum()) != 1)})",
            key=data_key, source=source,
        )
