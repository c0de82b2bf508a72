"""One training run: prepare (data, model, compile), then ``fit`` in the calling thread with the bridge.

``train`` is the only training path. The app calls it from a thread worker with
a ``QueueSink``; the CLI calls it on the main thread with a printer sink. Both get
the same run directory, the same events and the same controls. Bad input raises a
``UserError`` before anything is written; a failure during training is reported as
an ``error`` event, a ``failed`` status and ``error.txt``, and ``train`` returns.
"""

from __future__ import annotations

import math
import os
import re
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine import events as ev
from engine.callbacks import make_callbacks
from engine.config import RunConfig
from engine.control import Control, EventSink, FanoutSink, JsonlSink
from engine.control_dir import ControlWatcher
from engine.errors import UserError
from engine.resume import backup_epoch, prepare_resume
from engine.native_log import native_log
from engine.runs import Heartbeat, RunDir, create_run_dir, read_history

__all__ = [
    "Prepared", "RunResult", "prepare", "train", "configure_runtime", "expected_metric_names", "backup_epoch",
    "prepare_resume",
]  # fmt: skip

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


@dataclass
class Prepared:
    """Everything ``fit`` needs, built and checked. Creating one writes nothing."""

    cfg: RunConfig
    data: Any
    model: Any
    strategy: Any
    device: str = "cpu"


@dataclass
class RunResult:
    status: str
    """finished, stopped or failed."""
    run_dir: Path | None
    epochs_completed: int = 0
    model_path: Path | None = None
    error: str | None = None
    reason: str | None = None
    best: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)


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
    if rt.device == "gpu" and not gpus:
        raise UserError("runtime.device is gpu but TensorFlow sees no GPU (see `kwb doctor`)", key="runtime.device")
    from engine.kerasapi import keras

    # Always set: the policy is process-wide, and the app trains run after run in one process.
    keras().mixed_precision.set_global_policy(rt.mixed_precision or "float32")
    if rt.strategy == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices=rt.devices) if rt.devices else tf.distribute.MirroredStrategy()
    elif rt.strategy == "multi_worker":
        from engine.cluster import multi_worker_strategy

        strategy = multi_worker_strategy()
    else:
        strategy = tf.distribute.get_strategy()
    device = f"gpu×{len(gpus)}" if gpus else "cpu"
    return strategy, device


def expected_metric_names(cfg: RunConfig, has_validation: bool) -> list[str]:
    """The log keys ``fit`` will produce (loss, metrics, and their val_ twins)."""
    names = ["loss"]
    for m in cfg.compile.metrics:
        name = m if isinstance(m, str) else str(m.get("name", ""))
        names.append(name.lower())
    if has_validation:
        names += [f"val_{n}" for n in names]
    return names


def prepare(cfg: RunConfig) -> Prepared:
    """Load data, build and compile the model, check they fit together. Raises UserError."""
    from engine.data import load_data
    from engine.kerasapi import keras
    from engine.model import build_model, check_against_data, compile_model

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
    if cfg.runtime.strategy == "multi_worker" and data.train_ds is not None and not _is_tf_dataset(data.train_ds):
        raise UserError(
            "runtime.strategy multi_worker shards in-memory arrays or tf.data pipelines across workers; "
            "a streamed source (data.stream: true) cannot be sharded: set data.stream: false",
            key="data.stream",
        )
    with strategy.scope():
        model = build_model(cfg, tuple(data.input_shape) if data.input_shape else None)
        check_against_data(model, cfg, data)
        compile_model(model, cfg)
    return Prepared(cfg, data, model, strategy, device)


def _is_tf_dataset(obj: Any) -> bool:
    import tensorflow as tf

    return isinstance(obj, tf.data.Dataset)


def _class_weight(cfg: RunConfig, data: Any) -> dict[int, float] | None:
    cw = cfg.fit.class_weight
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
    elif data.x_val is not None and len(data.x_val):
        kwargs["validation_data"] = (data.x_val, data.y_val)
    else:
        has_val = False
    return kwargs, has_val


def _evaluate(model: Any, data: Any, cfg: RunConfig) -> dict[str, float]:
    """Score the final model on the test split (or validation, when there is no test split)."""
    if data.test_ds is not None:
        res = model.evaluate(data.test_ds, verbose=0, return_dict=True)
        prefix = "test_"
    elif data.x_test is not None and len(data.x_test):
        res = model.evaluate(data.x_test, data.y_test, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True)
        prefix = "test_"
    elif data.val_ds is not None:
        res = model.evaluate(data.val_ds, verbose=0, return_dict=True)
        prefix = "val_"
    elif data.x_val is not None and len(data.x_val):
        res = model.evaluate(data.x_val, data.y_val, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True)
        prefix = "val_"
    else:
        return {}
    return {prefix + k: float(v) for k, v in res.items()}


def _best(history: list[dict[str, float]]) -> dict[str, float]:
    best: dict[str, float] = {}
    for row in history:
        for k, v in row.items():
            if k in ("learning_rate", "epoch") or math.isnan(v):
                continue
            high = any(w in k for w in ("acc", "auc", "precision", "recall", "r2"))
            if k not in best or (v > best[k] if high else v < best[k]):
                best[k] = v
    return best


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
    from engine.bridge import Bridge, save_model_atomic

    control = control if control is not None else Control()
    started_log = False
    if capture_output and not native_log.active:
        import tempfile

        native_log.start(Path(tempfile.gettempdir()) / f"kwb-preload-{os.getpid()}.log")
        started_log = True
    try:
        prep = prepared if prepared is not None else prepare(cfg)
    except BaseException:
        if started_log:
            native_log.stop()
        raise

    cluster = None
    if cfg.runtime.strategy == "multi_worker":
        from engine.cluster import cluster_from_env

        cluster = cluster_from_env()
        if resume is not None:
            if started_log:
                native_log.stop()
            raise UserError("a multi_worker run cannot be resumed; start it again", key="runtime.strategy")
    scratch: str | None = None
    if resume is not None:
        run = resume
        initial_epoch = prepare_resume(run, prep.model)
        run.write_status(state="starting", pid=os.getpid(), host=socket.gethostname(), heartbeat=time.time(),
                         resumed=time.time(), ended=None, error=None, reason=None)  # fmt: skip
    elif cluster is not None and not cluster.is_chief:
        # Not the chief: the same callbacks and saves (collectives need every worker),
        # into a private folder deleted at the end; the runs folder is the chief's.
        import tempfile

        scratch = tempfile.mkdtemp(prefix=f"kwb-worker{cluster.index}-")
        run = create_run_dir(cfg, scratch)
        initial_epoch = cfg.fit.initial_epoch
    else:
        run = create_run_dir(cfg, runs_dir)
        initial_epoch = cfg.fit.initial_epoch
    if on_run_dir is not None:
        on_run_dir(run)
    if capture_output:
        native_log.switch(run.log if scratch is None else Path(f"{scratch}.log"))
    else:
        run.log.touch()
    jsonl = JsonlSink(run.events)
    out = FanoutSink([jsonl, sink] if sink is not None else [jsonl])
    heartbeat = Heartbeat(run)
    watcher = ControlWatcher(run, control, out) if watch_control_dir and scratch is None else None
    data, model = prep.data, prep.model
    t0 = time.monotonic()

    def on_progress(done: int, total: int) -> None:
        heartbeat.update(epochs_done=done, state="running")

    def on_state(state: str) -> None:
        heartbeat.update(state=state)
        heartbeat.beat()  # kwb runs / the Runs screen should see "paused" now, not in 2 s

    bridge = Bridge(out, control if cluster is None else Control(), checkpoint_dir=run.checkpoints,
                    batch_size=cfg.fit.batch_size, on_progress=on_progress, on_state=on_state)  # fmt: skip
    sync = None
    if cluster is not None:
        from engine.distributed import CommandSync

        sync = CommandSync(prep.strategy, control, bridge.control, cluster.is_chief, bridge)
    result = RunResult(status="failed", run_dir=run.path)
    try:
        fit_kwargs, has_val = _fit_inputs(data, cfg)
        names = expected_metric_names(cfg, has_val)
        callbacks = make_callbacks(cfg, run, bridge, out, names)
        if sync is not None:
            callbacks.insert(callbacks.index(bridge), sync)
        from engine.bridge import get_lr

        out.emit(
            ev.RunStarted(
                run_id=run.id, run_dir=str(run.path) if scratch is None else None, name=cfg.name, epochs=cfg.fit.epochs,
                initial_epoch=initial_epoch, steps_per_epoch=_steps(data, cfg),
                batch_size=cfg.fit.batch_size, train_samples=data.train_samples, val_samples=data.val_samples,
                params=int(model.count_params()), metrics=tuple(names), learning_rate=get_lr(model.optimizer),
                strategy=cfg.runtime.strategy, replicas=int(prep.strategy.num_replicas_in_sync), device=prep.device,
                worker=cluster.index if cluster else 0, workers=cluster.size if cluster else 1,
            )
        )  # fmt: skip
        if scratch is not None:
            out.emit(ev.Log(message=f"worker {cluster.index} of {cluster.size}: the chief (worker 0) keeps the "
                                    f"run directory; TensorFlow's log is {scratch}.log"))  # fmt: skip
        if resume is not None:
            out.emit(ev.Log(message=f"resumed from epoch {initial_epoch} (of {cfg.fit.epochs})"))
        out.emit(ev.Log(message=f"data: {data.description}"))
        run.write_status(state="running", heartbeat=time.time())
        heartbeat.start()
        if watcher is not None:
            watcher.start()
        model.fit(
            **fit_kwargs,
            epochs=cfg.fit.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=cfg.fit.steps_per_epoch,
            validation_freq=cfg.fit.validation_freq,
            class_weight=_class_weight(cfg, data),
            callbacks=callbacks,
            verbose=0,
        )
        result.epochs_completed = max(bridge.epochs_completed, initial_epoch)
        result.history = read_history(run.history) or bridge.history
        reason = bridge.stop_reason
        if reason == "nan":
            result.status, result.reason = "failed", "nan"
            result.error = f"the loss became NaN or infinite in epoch {bridge.epoch + 1}; training stopped"
            try:  # the CLI points at error.txt for every failed run
                (run.path / "error.txt").write_text(result.error + "\n")
            except OSError:
                pass
            out.emit(ev.Error(message=result.error, fatal=True))
        elif reason in ("user", "interrupt", "signal") or (reason and reason != "early_stopping"):
            result.status, result.reason = "stopped", reason
        else:
            result.status, result.reason = "finished", reason
        result.model_path = save_model_atomic(model, run.model)  # every worker saves; only the chief's is kept
        if scratch is not None:
            result.model_path = None
        result.evaluation = _evaluate(model, data, cfg) if result.status != "failed" else {}
    except BaseException as exc:  # report every failure as an event, never swallow it
        tb = _ANSI.sub("", traceback.format_exc())
        result.status = "failed"
        result.error = _short(f"{type(exc).__name__}: {exc}", 2000)
        result.epochs_completed = max(bridge.epochs_completed, initial_epoch)
        result.history = read_history(run.history) or bridge.history
        try:
            (run.path / "error.txt").write_text(tb)
        except OSError:
            pass
        out.emit(ev.Error(message=_short(result.error), fatal=True, traceback=tb))
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            _finish(run, out, jsonl, heartbeat, watcher, result, t0, started_log)
            raise
    _finish(run, out, jsonl, heartbeat, watcher, result, t0, started_log)
    if scratch is not None and result.status != "failed":  # a failed worker keeps its error.txt and log
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
        Path(f"{scratch}.log").unlink(missing_ok=True)
        result.run_dir = None
    return result


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _short(text: str, limit: int = 500) -> str:
    text = " ".join(_ANSI.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _steps(data: Any, cfg: RunConfig) -> int | None:
    if cfg.fit.steps_per_epoch:
        return cfg.fit.steps_per_epoch
    if data.train_ds is not None:
        try:
            return len(data.train_ds)
        except TypeError:
            return None
    return math.ceil(data.train_samples / cfg.fit.batch_size) if data.train_samples else None


def _finish(
    run: RunDir,
    out: EventSink,
    jsonl: JsonlSink,
    heartbeat: Heartbeat,
    watcher: ControlWatcher | None,
    result: RunResult,
    t0: float,
    started_log: bool,
) -> None:
    if watcher is not None:
        watcher.stop()
    heartbeat.stop()
    result.best = _best(result.history)
    duration = time.monotonic() - t0
    run.write_status(
        state=result.status,
        reason=result.reason,
        error=result.error,
        ended=time.time(),
        heartbeat=time.time(),
        epochs_done=result.epochs_completed,
        best=result.best,
        evaluation=result.evaluation,
        model=str(result.model_path) if result.model_path else None,
    )
    out.emit(
        ev.RunEnded(
            status=result.status,
            epochs_completed=result.epochs_completed,
            duration_s=duration,
            model_path=str(result.model_path) if result.model_path else None,
            best=result.best,
            test=result.evaluation,
            reason=result.reason,
        )
    )
    jsonl.close()
    if started_log:
        native_log.stop()
