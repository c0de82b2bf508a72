"""One real batch through the compiled model before ``fit``: forward, loss and metrics, so what would fail in ``fit`` fails here.

``engine.session.prepare`` calls ``probe_one_batch`` last, so ``kwb validate`` and ``kwb train``
refuse the same configs with the same sentence (``compile.metrics[1]: 'auc' scores ...``),
before any run directory exists, instead of a TensorFlow trace from inside ``fit``.

The sentence for a failure is the one a failed ``fit`` gives (``engine.diagnose.explain``'s hint, which
the run's summary, ``kwb show`` and the ``--json`` error event carry), with the key found here; a
failure ``explain`` knows no hint for gets one of this module's sentences.

It runs eagerly on a copy of the first batch: ``model(x)``, ``compute_loss``, ``compute_metrics``
(the model's own compiled loss and metrics, as ``fit`` would call them), then resets the metrics.
No weight changes and nothing is written; the optimizer is never touched. Only on a failure does
it recompile the model with one metric at a time, to name the one at fault; the model is then
discarded with the error. Streamed sources have their first batch checked for NaN/Inf and for
labels the loss cannot take (``engine.data.checks``, ``engine.fit_checks.check_labels``), the
in-memory ones having been checked whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.config import RunConfig
from engine.data.checks import non_finite
from engine.diagnose import explain
from engine.errors import DataError, ModelError
from engine.fit_checks import check_labels
from engine.graph import clean_keras_message, output_names
from engine.graph_spec import per_output

if TYPE_CHECKING:
    import keras

    from engine.data import DataBundle

__all__ = ["probe_one_batch", "first_batch"]


def first_batch(data: "DataBundle", batch_size: int, cached_shuffle: bool = False) -> tuple[Any, Any]:
    """The first training batch as ``fit`` would see it (unshuffled): (x, y), or (None, None) when there is none.

    Args:
        data: the prepared data.
        batch_size: rows of an in-memory batch.
        cached_shuffle: an image folder cached, then shuffled whole (``engine.data.images``): its
            first training batch would cost a pass over every image, so the first validation or
            test batch stands in for it (none when there is neither). Defaults to False.
    """
    from engine.data.named import count, take

    if data.train_ds is None:
        if data.x_train is None or not count(data.x_train):
            return None, None
        rows = slice(0, min(batch_size, count(data.x_train)))
        return take(data.x_train, rows), take(data.y_train, rows)
    batch = getattr(data.train_ds, "batch", None)
    if callable(batch) and hasattr(data.train_ds, "rows"):
        return batch(0)  # a streamed HDF5 split: one contiguous read
    ds = data.train_ds
    if cached_shuffle:
        ds = data.val_ds if data.val_ds is not None else data.test_ds
    for x, y in ds.take(1) if ds is not None else ():  # a tf.data pipeline (image folders): decodes one batch
        return x, y
    return None, None


def probe_one_batch(model: "keras.Model", cfg: RunConfig, data: "DataBundle") -> None:
    """Run the compiled model on one real batch: forward, loss, metrics; nothing written, no weight changed.

    Raises:
        DataError: a streamed source's first batch holds NaN/Inf, or labels the loss cannot take.
        ModelError: the forward pass, the loss or a metric fails, with the key to change.
    """
    x, y = first_batch(data, cfg.fit.batch_size, cached_shuffle=cfg.data.source == "directory" and cfg.data.cache
                       and cfg.data.shuffle)  # fmt: skip
    if x is None:
        return
    if data.train_ds is not None:
        _check_streamed_batch(model, cfg, data, x, y)
    try:
        y_pred = model(x, training=False)
    except Exception as exc:  # noqa: BLE001 - any failure here is the model not fitting the data
        hint = explain(exc, model).hint
        raise ModelError(hint or f"the model cannot run on one batch of the data: {clean_keras_message(exc)}",
                         key="model") from None  # fmt: skip
    try:
        model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(explain(exc, model).hint or _loss_sentence(cfg, y, y_pred, exc), key="compile.loss") from None
    try:
        model.compute_metrics(x, y, y_pred, sample_weight=None)
    except Exception as exc:  # noqa: BLE001
        key, sentence = _metric_at_fault(model, cfg, x, y, y_pred, exc)
        raise ModelError(sentence, key=key) from None
    finally:
        model.reset_metrics()


def _check_streamed_batch(model: Any, cfg: RunConfig, data: "DataBundle", x: Any, y: Any) -> None:
    """NaN/Inf and labels in a streamed source's first batch (in-memory data was checked whole)."""
    from engine.data.named import each

    source = cfg.data.path
    for field, arrays in (("x", x), ("y", y)):
        for name, a in each(_numpy(arrays)):
            found = non_finite(a)
            if found is not None:
                where = f"{'input' if field == 'x' else 'output'} {name!r}" if name else f"the {field} array"
                raise DataError(f"the first training batch's {where} holds {found[2]} ({found[0]} values): "
                                "fix or drop those samples", source=source, key=f"data.{field}")  # fmt: skip
    outs = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
    names = output_names(model)
    ys = _numpy(y)
    for i, shape in enumerate(outs):
        name = names[i] if len(outs) > 1 and i < len(names) else ""
        target = ys.get(name) if isinstance(ys, dict) else ys
        loss = cfg.compile.loss[name] if name and per_output(cfg.compile.loss) else cfg.compile.loss
        what = f"the output {name!r}" if name else "the last layer"
        check_labels(cfg, what, shape[-1], loss, {"training": target}, "model", f"data.y.{name}" if name else "data.y")


def _numpy(arrays: Any) -> Any:
    import numpy as np

    if isinstance(arrays, dict):
        return {k: np.asarray(v) for k, v in arrays.items()}
    return np.asarray(arrays)


def _shape(a: Any) -> str:
    dims = tuple(getattr(a, "shape", ())[1:])
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _loss_sentence(cfg: RunConfig, y: Any, y_pred: Any, exc: BaseException) -> str:
    loss = cfg.compile.loss if isinstance(cfg.compile.loss, str) else "the loss"
    if isinstance(y, dict) or isinstance(y_pred, (dict, list)):
        return f"{loss} cannot be computed on one batch of the data: {clean_keras_message(exc)}"
    return (f"{loss} cannot compare the targets (each {_shape(y)}) with the model's output (each {_shape(y_pred)}): "
            f"change compile.loss or the last layer ({clean_keras_message(exc)})")  # fmt: skip


def _metric_at_fault(model: Any, cfg: RunConfig, x: Any, y: Any, y_pred: Any, exc: BaseException) -> tuple[str, str]:
    """(key, sentence) for the first metric that fails alone on this batch, found by recompiling with it only."""
    from engine.model import compile_model

    metrics = cfg.compile.metrics
    trials: list[tuple[str, Any, Any]] = []
    if isinstance(metrics, dict):
        for out, listed in metrics.items():
            trials += [(f"compile.metrics.{out}[{i}]", m, {out: [m]}) for i, m in enumerate(listed)]
    else:
        trials = [(f"compile.metrics[{i}]", m, [m]) for i, m in enumerate(metrics)]
    for key, metric, only in trials:
        trial = cfg.model_copy(update={"compile": cfg.compile.model_copy(update={"metrics": only})})
        try:
            compile_model(model, trial)
            model.compute_metrics(x, y, y_pred, sample_weight=None)
        except Exception as failed:  # noqa: BLE001
            return key, explain(failed, model).hint or _metric_sentence(metric, y, y_pred, failed)
    return "compile.metrics", f"the metrics cannot score one batch of the data: {clean_keras_message(exc)}"


def _metric_sentence(metric: Any, y: Any, y_pred: Any, exc: BaseException) -> str:
    name = (metric if isinstance(metric, str) else str(metric.get("name", ""))).lower()
    return (f"{name!r} cannot score the model's output (each {_shape(y_pred)}) against the targets "
            f"(each {_shape(y)}): remove it or choose a metric for this task ({clean_keras_message(exc)})")
