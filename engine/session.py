"""``kwb train``'s path: prepare a config's data and model, then ``fit`` inside a run lifecycle.

Separation of concerns:

- ``prepare`` (this module) turns a validated ``RunConfig`` into a ``Prepared``: the
  runtime (device, precision, strategy), the data (``engine.data``), the built and
  compiled model (``engine.model``). It writes nothing; bad input raises ``UserError``.
- ``train`` (this module) opens or resumes the run directory (``engine.runs``,
  ``engine.resume``; a non-chief worker's private scratch folder), builds the
  configured callbacks (``engine.callbacks``), calls ``fit``, saves and scores the model.
- ``RunLifecycle`` (``engine.lifecycle``) owns everything live about the run: the
  event sinks, the heartbeat, the control watcher, ``run_started`` / ``run_ended``,
  classifying how it ended, ``error.txt``, and closing each once. ``kwb run`` and the
  one-line callback use it around fits this module never sees.
- The bridge (``engine.callbacks.bridge``) turns ``fit`` into events and applies commands
  at batch boundaries; ``Control`` (``engine.control``) is the inbox it reads.
- The native log (``engine.native_log``): this module starts the redirect of fd 2 before
  TensorFlow loads (unless the caller did) and ends it last; the lifecycle points it at
  the run's train.log.

The app calls ``train`` from a thread worker with a ``QueueSink``; the CLI calls it on the
main thread with a printer sink: the same run directory, events and controls for both. A
failure during training is reported (an ``error`` event, a ``failed`` status, ``error.txt``)
and ``train`` returns; Ctrl-C's second press (KeyboardInterrupt) is reported, then raised.
"""

from __future__ import annotations

import math
import os
import socket
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from engine import events as ev
from engine.callbacks.factory import make_callbacks
from engine.config import RunConfig
from engine.control import Control, EventSink
from engine.errors import UserError
from engine.graph import output_names
from engine.lifecycle import RunLifecycle, RunResult
from engine.native_log import native_log, quiet_tensorflow, start_preload
from engine.preprocessing import legacy_run, write_run_info
from engine.resume import backup_epoch, prepare_resume
from engine.runs import RunDir, create_run_dir, read_status, training_seconds

__all__ = [
    "Prepared", "RunResult", "prepare", "train", "configure_runtime", "expected_metric_names", "backup_epoch",
    "prepare_resume",
]  # fmt: skip

quiet_tensorflow()


@dataclass
class Prepared:
    """Everything ``fit`` needs, built and checked. Creating one writes nothing."""

    cfg: RunConfig
    data: Any
    model: Any
    strategy: Any
    device: str = "cpu"


def configure_runtime(cfg: RunConfig) -> tuple[Any, str]:
    """Apply device, precision and strategy settings; return (strategy, device label)."""
    import tensorflow as tf

    rt = cfg.runtime
    gpus = tf.config.list_physical_devices("GPU")
    if rt.device == "cpu" and gpus:
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:
            pass  # already initialised in this process; placement below still pins to CPU
        gpus = []
    from engine.doctor import device_problem

    if (problem := device_problem(rt, len(gpus))) is not None:  # a GPU asked for and absent: refused, not run on the CPU
        raise UserError(problem[1], key=problem[0])
    from engine.kerasapi import keras

    # Always set: the policy is process-wide, and the app trains run after run in one process.
    keras().mixed_precision.set_global_policy(rt.mixed_precision or "float32")
    if rt.strategy == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices=rt.devices) if rt.devices else tf.distribute.MirroredStrategy()
    elif rt.strategy == "multi_worker":
        from engine.cluster import multi_worker_strategy

        strategy = multi_worker_strategy(rt.worker_timeout)
    else:
        strategy = tf.distribute.get_strategy()
    device = f"gpu×{len(gpus)}" if gpus else "cpu"
    return strategy, device


def expected_metric_names(cfg: RunConfig, has_validation: bool, outputs: list[str] | None = None) -> list[str]:
    """The log keys ``fit`` will produce (loss, metrics, and their val_ twins).

    With several outputs Keras logs the total ``loss``, then ``<output>_loss`` and
    ``<output>_<metric>`` for each output (``label_loss``, ``label_accuracy``, ``score_mae``).

    Args:
        cfg: the run config.
        has_validation: whether ``fit`` validates (adds the ``val_`` twins).
        outputs: the built model's output names (``engine.graph.output_names``). Defaults to the
            config's ``model.outputs``.
    """
    outputs = list(outputs) if outputs is not None else cfg.model.output_names()
    metrics = cfg.compile.metrics
    names = ["loss"]
    if len(outputs) > 1:
        for out in outputs:
            listed = metrics.get(out, []) if isinstance(metrics, dict) else metrics
            names += [f"{out}_loss", *(f"{out}_{_metric_name(m)}" for m in listed)]
    else:
        listed = next(iter(metrics.values()), []) if isinstance(metrics, dict) else metrics
        names += [_metric_name(m) for m in listed]
    if has_validation:
        names += [f"val_{n}" for n in names]
    return names


def _metric_name(metric: Any) -> str:
    return (metric if isinstance(metric, str) else str(metric.get("name", ""))).lower()


def prepare(cfg: RunConfig, *, scale_in_model: bool = True) -> Prepared:
    """Load data, build and compile the model, check they fit together. Raises UserError.

    Args:
        cfg: the validated run config.
        scale_in_model: put ``data.scale`` (fitted on the training split) in front of the model,
            which then takes raw inputs (``engine.preprocessing``); False scales in the pipeline,
            as runs saved before that change expect (their resume). Defaults to True.
    """
    from engine.batch_probe import probe_one_batch
    from engine.data import load_data
    from engine.data.checks import check_splits
    from engine.kerasapi import keras
    from engine.model import build_model, check_against_data, compile_model
    from engine.preprocessing import scale_bundle, with_preprocessing

    # The strategy first: MultiWorkerMirroredStrategy must exist before TensorFlow runs anything.
    strategy, device = configure_runtime(cfg)
    if cfg.seed is not None:
        keras().utils.set_random_seed(cfg.seed)
    if cfg.callbacks.tensorboard:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise UserError("needs the tensorboard package, which TensorFlow no longer installs: "
                            "pip install tensorboard (or set callbacks.tensorboard: false)", key="callbacks.tensorboard")  # fmt: skip
    data = load_data(cfg.data, seed=cfg.seed, batch_size=cfg.fit.batch_size)
    check_splits(cfg.data, data)  # an empty split asked for is bad input, not an epoch of nothing
    if cfg.runtime.strategy == "multi_worker" and data.train_ds is not None and not _is_tf_dataset(data.train_ds):
        raise UserError(
            "runtime.strategy multi_worker shards in-memory arrays or tf.data pipelines across workers; "
            "a streamed source (data.stream: true) cannot be sharded: set data.stream: false",
            key="data.stream",
        )
    with strategy.scope():
        model = build_model(cfg, data.model_input_shape())
        check_against_data(model, cfg, data)
        if scale_in_model:
            model = with_preprocessing(model, data.scaling, data.features)
        compile_model(model, cfg)
    if not scale_in_model:
        scale_bundle(data)
    _class_weight(cfg, data)  # weights Keras cannot apply are bad input: refused before anything is written
    if cfg.runtime.strategy != "multi_worker":  # (its collectives would wait for the other workers)
        probe_one_batch(model, cfg, data)  # what would fail in fit fails here, with the key to change
    return Prepared(cfg, data, model, strategy, device)


def _is_tf_dataset(obj: Any) -> bool:
    import tensorflow as tf

    return isinstance(obj, tf.data.Dataset)


def _rows(arrays: Any) -> int:
    """Samples in an array or a dict of arrays (one per input or output); 0 for None."""
    if arrays is None:
        return 0
    return len(next(iter(arrays.values()), ())) if isinstance(arrays, dict) else len(arrays)


def _class_weight(cfg: RunConfig, data: Any) -> dict[int, float] | None:
    """``fit.class_weight`` for ``fit``: as given, or ``balanced`` computed from the training labels.

    Raises:
        UserError: the targets are named per output (Keras weighs classes only for one
            target array), or ``balanced`` with streamed data.
    """
    cw = cfg.fit.class_weight
    if cw is not None and (data.output_names or isinstance(data.y_train, dict)):
        outputs = ", ".join(data.output_names) or ", ".join(data.y_train)
        raise UserError(
            f"Keras weighs classes only for a model with one target array, and this data has one per output "
            f"({outputs}); leave fit.class_weight out, or give data.y as one key for a single-output model",
            key="fit.class_weight",
        )
    if cw != "balanced":
        return cw  # type: ignore[return-value]
    import numpy as np

    y = data.y_train
    if y is None:
        raise UserError("class_weight: balanced needs in-memory data", key="fit.class_weight")
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(-1).astype(int)
    counts = np.bincount(labels)
    total, k = counts.sum(), np.count_nonzero(counts)
    return {i: float(total / (k * c)) for i, c in enumerate(counts) if c > 0}


def _fit_inputs(data: Any, cfg: RunConfig) -> tuple[dict[str, Any], bool]:
    from engine.data import fit_input

    kwargs: dict[str, Any] = {}
    if data.train_ds is not None:
        # Streamed data shuffles itself (fit_input); Keras would only warn that it cannot.
        kwargs.update(x=fit_input(data.train_ds, shuffle=cfg.fit.shuffle, prefetch=cfg.data.prefetch), shuffle=False)
    else:
        kwargs.update(x=data.x_train, y=data.y_train, batch_size=cfg.fit.batch_size, shuffle=cfg.fit.shuffle)
    has_val = True
    if data.val_ds is not None:
        kwargs["validation_data"] = fit_input(data.val_ds, shuffle=False, prefetch=cfg.data.prefetch)
    elif _rows(data.x_val):
        kwargs["validation_data"] = (data.x_val, data.y_val)
    else:
        has_val = False
    return kwargs, has_val


def _evaluate(model: Any, data: Any, cfg: RunConfig) -> dict[str, float]:
    """Score the final model on the test split (or validation, when there is no test split)."""
    if data.test_ds is not None:
        res = model.evaluate(data.test_ds, verbose=0, return_dict=True)
        prefix = "test_"
    elif _rows(data.x_test):
        res = model.evaluate(data.x_test, data.y_test, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True)
        prefix = "test_"
    elif data.val_ds is not None:
        res = model.evaluate(data.val_ds, verbose=0, return_dict=True)
        prefix = "val_"
    elif _rows(data.x_val):
        res = model.evaluate(data.x_val, data.y_val, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True)
        prefix = "val_"
    else:
        return {}
    return {prefix + k: float(v) for k, v in res.items()}


def train(
    cfg: RunConfig,
    *,
    sink: EventSink | None = None,
    control: Control | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    prepared: Prepared | None = None,
    capture_output: bool = True,
    watch_control_dir: bool = True,
    resume: RunDir | None = None,
    on_run_dir: Callable[[RunDir], None] | None = None,
) -> RunResult:
    """Run ``cfg`` to the end in the calling thread and return how it ended.

    Args:
        cfg: the validated run config.
        sink: also receives every event (the app's queue, the CLI printer). Defaults to None.
        control: the command inbox; ``stop`` etc. act at the next batch. Defaults to a new one.
        runs_dir: overrides ``cfg.output.runs_dir``. Defaults to None.
        prepared: a ``prepare(cfg)`` result, to skip loading twice. Defaults to None.
        capture_output: point fd 2 at the run's train.log while training. Defaults to True.
        watch_control_dir: accept commands dropped in the run's control/ folder. Defaults to True.
        resume: continue this existing run directory from its last saved state instead of
            creating a new one. Defaults to None.
        on_run_dir: called with the run directory as soon as it exists. Defaults to None.

    Raises:
        UserError: bad data or model, before any file is written.
    """
    control = control if control is not None else Control()
    with ExitStack() as stack:
        if capture_output and start_preload():
            stack.callback(native_log.stop)  # last of all: the lifecycle's messages land in train.log
        prep = prepared if prepared is not None else prepare(cfg)
        if resume is not None and legacy_run(resume.path, cfg.data.scale):
            prep = prepare(cfg, scale_in_model=False)  # saved before scaling moved into the model
        cluster = _cluster(cfg, resume)
        run, initial_epoch, scratch = _open_run(cfg, prep, runs_dir, resume, cluster)
        if resume is None:
            write_run_info(run.path, cfg, prep.data, prep.model)
        if on_run_dir is not None:
            on_run_dir(run)
        life = RunLifecycle(
            run, sink=sink, control=control, capture_output=capture_output, watch_control=watch_control_dir,
            log_path=Path(f"{scratch}.log") if scratch else None, public=scratch is None, reraise=False,
            trained_before_s=float((read_status(run.path) or {}).get("trained_before_s") or 0.0),
        )  # fmt: skip
        with life:
            _fit(life, prep, cluster, initial_epoch, resumed=resume is not None)
        if scratch is not None and life.result.status != "failed":  # a failed worker keeps its error.txt and log
            _remove_scratch(scratch)
            life.result.run_dir = None
    return life.result


def _cluster(cfg: RunConfig, resume: RunDir | None) -> Any:
    """The multi-worker cluster this process belongs to, or None."""
    if cfg.runtime.strategy != "multi_worker":
        return None
    if resume is not None:
        raise UserError("a multi_worker run cannot be resumed; start it again", key="runtime.strategy")
    from engine.cluster import cluster_from_env

    return cluster_from_env()


def _open_run(
    cfg: RunConfig, prep: Prepared, runs_dir: Any, resume: RunDir | None, cluster: Any
) -> tuple[RunDir, int, str | None]:
    """The run directory (new, resumed, or a worker's scratch folder), the epoch to start at, and the scratch path."""
    if resume is not None:
        resume = RunDir(resume.path.resolve())  # run_started names it as a new run does: absolute
        initial_epoch = prepare_resume(resume, prep.model)
        before = training_seconds(read_status(resume.path) or {}) or 0.0  # the earlier processes' training time
        # epochs: what this resume trains to (kwb resume --set fit.epochs=M changes the run's total)
        resume.write_status(state="starting", pid=os.getpid(), host=socket.gethostname(), heartbeat=time.time(),
                            resumed=time.time(), ended=None, error=None, reason=None, trained_before_s=round(before, 3),
                            duration_s=None, paused_s=0.0, paused_at=None, train_started=None,
                            epochs=cfg.fit.epochs)  # fmt: skip
        return resume, initial_epoch, None
    if cluster is not None and not cluster.is_chief:
        # Not the chief: the same callbacks and saves (collectives need every worker),
        # into a private folder deleted at the end; the runs folder is the chief's.
        import tempfile

        scratch = tempfile.mkdtemp(prefix=f"kwb-worker{cluster.index}-")
        return create_run_dir(cfg, scratch), cfg.fit.initial_epoch, scratch
    return create_run_dir(cfg, runs_dir), cfg.fit.initial_epoch, None


def _remove_scratch(scratch: str) -> None:
    """Delete a worker's scratch folder and its log."""
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    Path(f"{scratch}.log").unlink(missing_ok=True)


def _fit(life: RunLifecycle, prep: Prepared, cluster: Any, initial_epoch: int, *, resumed: bool) -> None:
    """Wire the callbacks, announce the run, ``fit``, then save and score the model (inside the lifecycle)."""
    from engine.callbacks.checkpoint import save_model_atomic  # subclasses a Keras callback: loads Keras
    from engine.callbacks.steps import AutoSteps, choose_steps

    cfg, data, model, run = prep.cfg, prep.data, prep.model, life.run
    bridge = life.make_bridge(batch_size=cfg.fit.batch_size, control=None if cluster is None else Control())
    fit_kwargs, has_val = _fit_inputs(data, cfg)
    names = expected_metric_names(cfg, has_val, output_names(model))
    callbacks = make_callbacks(cfg, run, bridge, life.out, names)
    steps = _steps(data, cfg)
    choice = choose_steps(model, cfg, data, steps, distributed=cluster is not None)
    if choice.step_s is not None:  # auto, calibrated: watch the real executions, re-tune once
        callbacks.insert(0, AutoSteps(choice, cfg.fit.execution_ms, steps, life.out))
    if cluster is not None:
        from engine.distributed import CommandSync

        sync = CommandSync(prep.strategy, life.control, bridge.control, cluster.is_chief, bridge)
        callbacks.insert(callbacks.index(bridge), sync)
    life.started(
        model, initial_epoch=initial_epoch, name=cfg.name, epochs=cfg.fit.epochs, steps_per_epoch=steps,
        batch_size=cfg.fit.batch_size, train_samples=data.train_samples, val_samples=data.val_samples,
        metrics=tuple(names), strategy=cfg.runtime.strategy, replicas=int(prep.strategy.num_replicas_in_sync),
        device=prep.device, worker=cluster.index if cluster else 0, workers=cluster.size if cluster else 1,
        steps_per_execution=choice.steps,
    )  # fmt: skip
    if cluster is not None and not life.public:
        life.out.emit(ev.Log(message=f"worker {cluster.index} of {cluster.size}: the chief (worker 0) keeps the "
                                     f"run directory; TensorFlow's log is {run.path.parent}.log"))  # fmt: skip
    if resumed:
        life.out.emit(ev.Log(message=f"resumed from epoch {initial_epoch} (of {cfg.fit.epochs})"))
    life.out.emit(ev.Log(message=f"data: {data.description}"))
    life.out.emit(ev.Log(message=choice.reason))
    model.fit(
        **fit_kwargs, epochs=cfg.fit.epochs, initial_epoch=initial_epoch, steps_per_epoch=cfg.fit.steps_per_epoch,
        validation_freq=cfg.fit.validation_freq, class_weight=_class_weight(cfg, data), callbacks=callbacks, verbose=0,
    )  # fmt: skip
    result = life.conclude()
    result.model_path = save_model_atomic(model, run.model)  # every worker saves; only the chief's is kept
    if not life.public:
        result.model_path = None
    result.evaluation = _evaluate(model, data, cfg) if result.status != "failed" else {}
    if result.status != "failed" and life.public:  # report.json: confusion matrix or regression errors
        from engine.report import write_run_report

        write_run_report(model, data, cfg, run.path, emit=life.out.emit)


def _steps(data: Any, cfg: RunConfig) -> int | None:
    if cfg.fit.steps_per_epoch:
        return cfg.fit.steps_per_epoch
    if data.train_ds is not None:
        try:
            return len(data.train_ds)
        except TypeError:
            return None
    return math.ceil(data.train_samples / cfg.fit.batch_size) if data.train_samples else None
