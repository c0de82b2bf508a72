"""Preprocessing that travels inside the saved model, so ``model.keras`` takes raw inputs everywhere.

``data.scale`` is fitted on the training split only (``fit_scaling``) and becomes the first
layers of the model (``with_preprocessing``): ``standard`` and ``minmax`` a
``keras.layers.Normalization`` holding the training split's statistics (``standard``: mean
and variance; ``minmax``: mean = min, variance = (max - min)²), ``pixels`` a
``keras.layers.Rescaling(1/255)``. The statistics are computed here once, in float64, the
same numbers ``Normalization.adapt`` gives, because the same code must also serve streamed
HDF5 (read in bounded chunks, never whole) and because a constant column gets a span of 1
instead of adapt's variance 0, which would divide the next unseen value by epsilon. The
layers are named ``kwb_scale_<input>``: that is how a model that scales its own inputs is
recognised (``scales_inside``).

The data pipeline therefore feeds raw arrays. A run saved before this change has a model
that expects scaled inputs; ``scale_bundle`` applies the same statistics in the pipeline
for it (``kwb evaluate`` and ``kwb resume`` of such a run), so old runs keep working.

The run's class names (string labels, or a dataset's own names) are stored beside the model
in ``preprocessing.json`` (``write_run_info`` / ``class_names``): ``kwb predict`` prints
names, and ``kwb evaluate`` on another file maps its labels through the same vocabulary.

A CSV's text feature columns (a ``city`` column) become string inputs of the model, one raw
input per column, each text column through a ``StringLookup`` (one-hot, with an
out-of-vocabulary slot for empty cells and unseen words) fitted on the training split
(``fit_features``), so ``model.keras`` takes raw rows: ``{column: values}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import DataError

if TYPE_CHECKING:
    import keras

__all__ = [
    "PREFIX",
    "INFO_FILE",
    "Scaling",
    "fit_scaling",
    "scale_array",
    "scale_bundle",
    "with_preprocessing",
    "fit_features",
    "text_as_tensors",
    "scales_inside",
    "write_run_info",
    "read_run_info",
    "class_names",
    "legacy_run",
]

PREFIX = "kwb_scale"
"""Name prefix of the scaling layers put in front of a model (``kwb_scale_x``, ``kwb_scale_image``)."""
INFO_FILE = "preprocessing.json"
"""Written in each run directory when the run starts: what the model does to its inputs, the class names."""


@dataclass
class Scaling:
    """How one input is scaled: ``mode`` and, for minmax/standard, per-feature ``shift`` and ``span``.

    A scaled value is ``(raw - shift) / span``; ``pixels`` is ``raw / 255``.
    """

    mode: str
    """"minmax", "standard" or "pixels"."""
    shift: np.ndarray | None = None
    span: np.ndarray | None = None


def fit_scaling(mode: str, train: np.ndarray) -> Scaling | None:
    """The scaling ``mode`` fitted on the training split ``train``; None for ``none``.

    Raises:
        DataError: minmax/standard on non-numeric inputs.
    """
    if mode == "none":
        return None
    if mode == "pixels":
        return Scaling("pixels")
    if not np.issubdtype(train.dtype, np.number):
        raise DataError(f"cannot scale non-numeric inputs ({train.dtype})", key="data.scale")
    ref = train.astype("float64")
    if mode == "minmax":
        lo, hi = ref.min(axis=0), ref.max(axis=0)
        return Scaling(mode, lo, np.where(hi - lo == 0, 1.0, hi - lo))
    std = ref.std(axis=0)
    return Scaling(mode, ref.mean(axis=0), np.where(std == 0, 1.0, std))


def scale_array(s: Scaling | None, a: Any) -> Any:
    """``a`` scaled in the pipeline (a run saved before scaling moved into the model); None passes through."""
    if s is None or a is None:
        return a
    if s.mode == "pixels":
        return a.astype("float32") / np.float32(255)
    return ((a.astype("float64") - s.shift) / s.span).astype("float32")


def scale_bundle(data: Any) -> Any:
    """Apply ``data.scaling`` in the pipeline, in place, and return ``data``: the layout of runs saved before
    scaling moved into the model. Arrays are scaled, a streamed HDF5 split scales its batches, an image
    folder's ``tf.data`` pipeline divides by 255."""
    scaling = getattr(data, "scaling", None) or {}
    if not scaling:
        return data
    for split in ("train", "val", "test"):
        x = getattr(data, f"x_{split}")
        if isinstance(x, dict):
            setattr(data, f"x_{split}", {k: scale_array(scaling.get(k), a) for k, a in x.items()})
        elif x is not None:
            setattr(data, f"x_{split}", scale_array(scaling.get(""), x))
        ds = getattr(data, f"{split}_ds")
        if ds is not None:
            setattr(data, f"{split}_ds", _scale_stream(ds, scaling))
    data.scaling = {}
    return data


def _scale_stream(ds: Any, scaling: dict[str, Scaling]) -> Any:
    """A streamed split that scales its batches like the old pipeline did."""
    if hasattr(ds, "shift") and hasattr(ds, "pixels"):  # an HDF5Sequence
        named = isinstance(ds.x_key, dict)
        pick = (lambda f: {k: f(s) for k, s in scaling.items()}) if named else (lambda f: f(scaling[""]))
        ds.pixels = any(s.mode == "pixels" for s in scaling.values())
        if not ds.pixels:
            ds.shift, ds.span = pick(lambda s: s.shift), pick(lambda s: s.span)
        return ds
    import tensorflow as tf  # an image folder's tf.data pipeline: only pixels is offered there

    return ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)


def _scaling_layer(keras: Any, s: Scaling, name: str, shape: tuple[int, ...]) -> Any:
    layer_name = f"{PREFIX}_{name}" if name else PREFIX
    if s.mode == "pixels":
        return keras.layers.Rescaling(1.0 / 255, name=layer_name, dtype="float32")
    shift, span = np.asarray(s.shift, "float64"), np.asarray(s.span, "float64")
    axis = tuple(range(1, len(shape) + 1)) if shift.ndim else None  # one statistic per feature, per position
    return keras.layers.Normalization(axis=axis, mean=shift, variance=span**2, name=layer_name, dtype="float32")


def scales_inside(model: Any) -> bool:
    """True when ``model`` begins with kwb's scaling layers (it takes raw inputs)."""
    return any(str(layer.name).startswith(PREFIX) for layer in getattr(model, "layers", ()))


def with_preprocessing(
    model: "keras.Model", scaling: dict[str, Scaling], features: dict[str, list[str] | None] | None = None
) -> "keras.Model":
    """``model`` with a scaling layer in front of each scaled input, as one flat functional model.

    The new model has the same input names, output names and layers (the same objects, so
    no weight is copied), plus ``kwb_scale_<input>`` layers; it takes raw inputs. A model
    that already scales its inputs (a kwb model loaded with ``model.path``) is returned as is.

    Args:
        model: a functional model (built from the config, or loaded).
        scaling: input name ("" for the one unnamed input) -> ``Scaling``; inputs not listed
            are fed through unchanged. With ``features``: column name -> ``Scaling``.
        features: a CSV's feature columns (``fit_features``), when one of them is text: the
            model's one input is then built from one raw input per column. Defaults to None.
    """
    if scales_inside(model) or not (scaling or features):
        return model
    from engine.kerasapi import keras as keras_module

    keras = keras_module()
    if features:
        return _with_features(keras, model, features, scaling)
    raw, fed = [], []
    single = len(model.inputs) == 1
    for tensor in model.inputs:
        name = str(tensor.name)
        shape = tuple(tensor.shape[1:])
        new = keras.Input(shape=shape, name=name, dtype=tensor.dtype)
        s = scaling.get("" if single and "" in scaling else name)
        raw.append(new)
        fed.append(_scaling_layer(keras, s, "" if single else name, shape)(new) if s is not None else new)
    run = getattr(model, "_run_through_graph", None)
    if run is not None:  # Keras 3: the model's own layers called on the scaled tensors, one flat graph
        outputs = run(fed[0] if single else fed, operation_fn=lambda op: op)
    else:  # tf-keras (multi_worker): the model nested as one layer
        outputs = model(fed[0] if single else fed)
    return keras.Model(raw[0] if single else raw, outputs, name=model.name)


# ---------------------------------------------------------------- text feature columns
def fit_features(x_train: dict[str, np.ndarray], mode: str) -> tuple[dict[str, list[str] | None], dict[str, Scaling], int]:
    """A CSV's feature columns fitted on the training split: (column -> vocabulary, or None for a numeric
    column; column -> ``Scaling`` of the numeric ones; the width of the encoded row).

    A text column's vocabulary is its training split's distinct non-empty words, sorted. Each text
    column becomes a ``keras.layers.StringLookup(output_mode="one_hot")`` inside the model, with one
    out-of-vocabulary slot first: an empty cell (a missing value) and a word the training split never
    had both land there. Numeric columns are scaled by ``data.scale`` like any input, and a missing
    numeric cell was already refused by the reader, naming the file, column and line.
    """
    features: dict[str, list[str] | None] = {}
    scaling: dict[str, Scaling] = {}
    width = 0
    for name, col in x_train.items():
        if col.dtype == object or col.dtype.kind in "US":
            vocab = sorted({str(v) for v in np.ravel(col)} - {""})
            features[name] = vocab
            width += len(vocab) + 1
        else:
            features[name] = None
            s = fit_scaling(mode, col)
            if s is not None:
                scaling[name] = s
            width += 1
    return features, scaling, width


def text_as_tensors(x: Any) -> Any:
    """``{column: array}`` holding a text column as ``tf`` tensors (text as strings), the form Keras'
    ``fit``/``predict`` take (its numpy adapter refuses str and object arrays); anything else unchanged."""
    if not isinstance(x, dict) or not any(_numpy_text(a) for a in x.values()):
        return x  # no text, or already tensors (the data ``fit`` was given)
    import tensorflow as tf

    return {k: tf.constant(a.astype(str) if _numpy_text(a) else a) for k, a in x.items()}  # all tensors: Keras
    # refuses a mix of arrays and tensors in one call


def _numpy_text(a: Any) -> bool:
    """Whether ``a`` is a numpy array of text (str, bytes or objects); a tensor's dtype has no ``kind``."""
    return isinstance(a, np.ndarray) and a.dtype.kind in "OUS"


def _with_features(keras: Any, model: Any, features: dict[str, list[str] | None], scaling: dict[str, Scaling]) -> Any:
    """One raw input per column (float32, or string for a text column), encoded and joined into ``model``'s input.

    Keras' ``FeatureSpace`` does the same job but is built from a ``tf.data`` pipeline and wants every
    feature declared by hand; lookup and normalization layers fitted here keep the reader's own column
    handling and error messages and give one flat model that plain Keras loads.
    """
    raw, parts = [], []
    for name, vocab in features.items():
        if vocab is None:
            t = keras.Input((1,), name=name, dtype="float32")
            s = scaling.get(name)
            parts.append(_scaling_layer(keras, s, name, (1,))(t) if s is not None else t)
        else:
            t = keras.Input((1,), name=name, dtype="string")
            lookup = keras.layers.StringLookup(vocabulary=vocab, output_mode="one_hot", name=f"{PREFIX}_{name}_words")
            parts.append(lookup(t))
        raw.append(t)
    joined = keras.layers.Concatenate(name=f"{PREFIX}_columns", dtype="float32")(parts)
    run = getattr(model, "_run_through_graph", None)
    outputs = run(joined, operation_fn=lambda op: op) if run is not None else model(joined)
    return keras.Model(raw, outputs, name=model.name)


# ---------------------------------------------------------------- the run's record
def write_run_info(run_path: Path, cfg: Any, data: Any, model: Any) -> None:
    """Write ``preprocessing.json`` in a new run directory: the scaling in the model, the class names and
    (a CSV run) the training file's feature and target columns, which ``kwb predict`` matches by name."""
    from engine.config_io import atomic_write_text
    from engine.predict_inputs import csv_columns

    classes: dict[str, list[str]] = {}
    if data.targets:
        classes = {name: list(t.class_names) for name, t in data.targets.items() if t.class_names}
    elif data.class_names:
        classes = {"": list(data.class_names)}
    info = {
        "format": 1,
        "scaling_in_model": scales_inside(model),
        "inputs": {name: s.mode for name, s in (getattr(data, "scaling", None) or {}).items()},
        "features": getattr(data, "features", None) or {},
        "classes": classes,
        "columns": csv_columns(cfg.data),
    }
    atomic_write_text(Path(run_path) / INFO_FILE, json.dumps(info, indent=1) + "\n")


def read_run_info(run_path: Path) -> dict[str, Any] | None:
    """A run's ``preprocessing.json``, or None (a run from before it existed, or an unreadable file)."""
    try:
        info = json.loads((Path(run_path) / INFO_FILE).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def class_names(run_path: Path) -> dict[str, list[str]]:
    """Output name ("" for the one output) -> class names recorded for a run; {} when none were."""
    info = read_run_info(run_path) or {}
    classes = info.get("classes")
    if not isinstance(classes, dict):
        return {}
    return {str(k): [str(c) for c in v] for k, v in classes.items() if isinstance(v, list)}


def legacy_run(run_path: Path, scale: str) -> bool:
    """True for a run saved before scaling moved into the model: it scaled in the pipeline, and has no record."""
    return scale != "none" and read_run_info(run_path) is None
