"""The data a finished run is scored on: its own split, or another file taken whole (``kwb evaluate``).

``evaluation_data`` is the one place that answers "load the evaluation data for run X"
(optionally with other data): ``kwb evaluate`` prints scores from it, and an evaluation
report (confusion matrix) can be computed from the same arrays.

Rules:

* The run's own data (its config unchanged): the split asked for, cut exactly as in
  training (same seed, same shuffle); ``test`` by default, ``val`` when it has no test split.
* Other data (``--set data.path=OTHER`` or any other change to ``data``): the WHOLE file, in
  file order, unless a split is asked for; never re-split silently.
* Nothing is re-fitted: the scaling is inside the model (``engine.preprocessing``), and a
  CSV's word labels map through the vocabulary the run was trained with (a word it never saw
  is refused, naming the file and column); integer labels are one-hot encoded to the model's
  width. A model saved before scaling moved inside it gets the training split's scaling applied
  in the pipeline, as it was trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import RunConfig

__all__ = ["Split", "EvalData", "evaluation_data", "rows"]


class Split(str, Enum):
    """Which samples ``kwb evaluate`` scores."""

    test = "test"
    val = "val"
    train = "train"
    all = "all"
    """Every row of the data file, unsplit (the default for other data)."""


@dataclass
class EvalData:
    """What to score: arrays (``x``, ``y``) or a streamed ``ds``, and how to name it."""

    x: Any
    y: Any
    ds: Any
    split: Split
    samples: int
    other_data: bool
    """True when the data is not the run's own (scored whole unless a split was asked for)."""


def rows(x: Any) -> int:
    """Samples in an array, or in ``{input name: array}``; 0 for None."""
    if x is None:
        return 0
    if isinstance(x, dict):
        return len(next(iter(x.values()))) if x else 0
    return len(x)


def evaluation_data(
    cfg: "RunConfig", run_cfg: "RunConfig", model: Any, run_path: Path, split: Split | None = None
) -> EvalData:
    """Load what ``model`` (a run's) should be scored on.

    Args:
        cfg: the run's config with the user's ``--set`` overrides applied.
        run_cfg: the run's config as it trained (decides whether the data is "other").
        model: the run's loaded model (decides whether it scales its own inputs, and one-hot widths).
        run_path: the run directory (its recorded class names).
        split: the split to score. Defaults to None: ``test`` for the run's own data (``val``
            when it has none), ``all`` for other data.

    Raises:
        UserError: the data cannot be loaded, its labels are not the run's, or the split is empty.
    """
    from engine.data import load_data
    from engine.preprocessing import class_names, scale_bundle, scales_inside

    other = cfg.data != run_cfg.data
    chosen = split or (Split.all if other else Split.test)
    data_cfg = cfg.data.model_copy(update={"one_hot": False})
    if other:
        data_cfg = _columns_by_name(data_cfg, run_cfg.data, run_path)
    if chosen is Split.all:
        data_cfg = data_cfg.model_copy(update={"validation_split": 0.0, "test_split": 0.0, "validation": None,
                                               "test": None, "limit": None, "shuffle": False})  # fmt: skip
    streamed = cfg.data.source == "directory" or (cfg.data.source == "hdf5" and cfg.data.stream)
    if streamed:
        data_cfg = data_cfg.model_copy(update={"one_hot": cfg.data.one_hot})  # the stream one-hots its batches
    data = load_data(data_cfg, seed=cfg.seed, batch_size=cfg.fit.batch_size, classes=class_names(run_path))
    if other:
        _check_columns_fit(data.x_train if chosen is Split.all else getattr(data, f"x_{chosen.value}"), data_cfg, model)
        _check_labels(data, data_cfg, cfg, model, run_path)
    if cfg.data.scale != "none" and not scales_inside(model):
        scale_bundle(data)  # a model saved before the scaling moved inside it
    name = {Split.all: "train", Split.test: "test", Split.val: "val", Split.train: "train"}[chosen]
    x, y, ds = getattr(data, f"x_{name}"), getattr(data, f"y_{name}"), getattr(data, f"{name}_ds")
    if split is None and chosen is Split.test and ds is None and not rows(x) and (rows(data.x_val) or data.val_ds is not None):
        chosen, x, y, ds = Split.val, data.x_val, data.y_val, data.val_ds
    samples = rows(x) if ds is None else int(getattr(data, f"{'train' if chosen is Split.all else chosen.value}_samples"))
    if ds is None and not samples:
        raise DataError(f"this run has no {chosen.value} data (choose another split)", key="data")
    if ds is None and cfg.data.one_hot:
        y = _one_hot_like(model, y)
    return EvalData(x, y, ds, chosen, samples, other)


def _columns_by_name(data_cfg: Any, run_data: Any, run_path: Path) -> Any:
    """Other CSV data with a header is read by the training file's column names, not their places:
    a file with its columns in another order is scored right, one without a column the model was
    trained on is refused naming it, and columns it never saw are left out. Unchanged when the
    user chose ``data.features`` or ``data.target`` for the other file, or it has no header."""
    from engine.predict_inputs import csv_columns
    from engine.preprocessing import read_run_info

    if data_cfg.source != "csv" or not data_cfg.header or isinstance(data_cfg.x, dict) or run_data.source != "csv":
        return data_cfg
    if data_cfg.features != run_data.features or data_cfg.target != run_data.target:
        return data_cfg
    trained = (read_run_info(run_path) or {}).get("columns")
    if not isinstance(trained, dict):
        trained = csv_columns(run_data)
    if not isinstance(trained, dict) or not trained.get("features") or not trained.get("target"):
        return data_cfg
    return data_cfg.model_copy(update={"features": list(trained["features"]), "target": trained["target"]})


def _check_labels(data: Any, data_cfg: Any, cfg: "RunConfig", model: Any, run_path: Path) -> None:
    """Refuse other data whose labels are not the model's classes: words for a run trained on numbered
    classes, numbers outside 0..classes-1, or fractions, for a model trained with a sparse loss."""
    import numpy as np

    from engine.preprocessing import class_names

    loss = cfg.compile.loss if isinstance(cfg.compile.loss, str) else ""
    y = data.y_train
    if "sparse" not in loss or y is None or isinstance(y, dict) or data_cfg.source != "csv":
        return
    where = f"target column {data_cfg.target!r}" if data_cfg.target is not None else "the target column"
    if data.class_names and not class_names(run_path):
        words = ", ".join(map(str, data.class_names[:5])) + (", …" if len(data.class_names) > 5 else "")
        raise DataError(f"{where} holds words ({words}), but the run was trained on numbered classes",
                        source=data_cfg.path, key="data.target")  # fmt: skip
    width = int(model.outputs[0].shape[-1]) if getattr(model, "outputs", None) else 0
    labels = np.asarray(y).reshape(-1)
    if not len(labels) or width < 2:
        return
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels >= width))
    if len(bad):
        value = labels[bad[0]]
        shown = int(value) if float(value).is_integer() else float(value)
        raise DataError(f"{where} holds {shown!r} (row {int(bad[0]) + 1} of the data), but the model's classes "
                        f"are 0 to {width - 1}", source=data_cfg.path, key="data.target")  # fmt: skip


def _check_columns_fit(x: Any, data_cfg: Any, model: Any) -> None:
    """Refuse other data whose CSV columns are not the kind the model takes.

    A CSV with a word column is read column by column (for a model that looks words up
    itself); a model trained on numbers only takes one tensor instead. Read that way, the
    file is refused by the reader's own message, naming the column and the line of the first
    word. The other way round (the model looks up words, the file has none), the columns it
    takes by name are named.
    """
    from engine.graph import input_names

    if data_cfg.source != "csv" or isinstance(data_cfg.x, dict) or not data_cfg.path:
        return
    wanted = input_names(model)
    if isinstance(x, dict) and len(wanted) == 1 and set(x) != set(wanted):
        from engine.data.files import refuse_text_columns

        refuse_text_columns(data_cfg)  # raises, naming the column and line
        raise DataError("holds text columns, but the model takes one array of numbers", source=data_cfg.path,
                        key="data.path")  # fmt: skip
    if isinstance(x, dict) and len(wanted) > 1 and set(wanted) - set(x):
        missing = ", ".join(repr(n) for n in wanted if n not in x)
        raise DataError(f"lacks the feature column(s) the model takes: {missing}", source=data_cfg.path, key="data.path")
    if not isinstance(x, dict) and len(wanted) == 1 and x is not None and getattr(model, "inputs", None):
        width, have = model.inputs[0].shape[-1], x.reshape(len(x), -1).shape[1] if x.ndim > 1 else 1
        if width is not None and int(width) != have and len(model.inputs[0].shape) == 2:
            chosen = f" ({', '.join(map(str, data_cfg.features))})" if data_cfg.features else ""
            raise DataError(f"gives {have} feature column(s){chosen}, but the model takes {int(width)}",
                            source=data_cfg.path, key="data.features")  # fmt: skip
    if not isinstance(x, dict) and len(wanted) > 1:
        raise DataError(f"has only number columns, but the model takes its columns by name and looks up words in "
                        f"some of them ({', '.join(wanted)}): give it a file like the one it was trained on",
                        source=data_cfg.path, key="data.path")  # fmt: skip


def _one_hot_like(model: Any, y: Any) -> Any:
    """Integer labels one-hot encoded to the width of the model's output(s) they belong to."""
    import numpy as np

    outputs = getattr(model, "outputs", None) or []
    names = [str(n) for n in getattr(model, "output_names", None) or []]
    widths = {n: int(t.shape[-1]) for n, t in zip(names, outputs)}

    def encode(labels: Any, width: int) -> Any:
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            return labels  # already one-hot, or not class labels
        if len(labels) and int(labels.max()) >= width:
            raise DataError(f"holds label {int(labels.max())}, but the model has {width} classes", key="data.y")
        return np.eye(width, dtype="float32")[labels]

    if isinstance(y, dict):
        return {k: encode(v, widths.get(k, int(v.max()) + 1)) for k, v in y.items()}
    return encode(y, next(iter(widths.values()), int(y.max()) + 1))
