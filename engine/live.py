"""Your own Keras code, recorded and steerable: ``KwbCallback``, one line in any ``fit``.

``model.fit(..., callbacks=[KwbCallback(name="digits")])`` gives the fit what ``kwb train``
gives a config: a run directory (``script.json`` instead of config.yaml), events,
history, checkpoints, the final model, and the controls (``kwb control``, ``kwb attach``,
the app's Runs screen). It works in any Python process, a notebook included; ``kwb run``
(``engine.script_runner``) adds one to every ``fit`` of an unmodified script.

Separation of concerns: the run's life (sinks, heartbeat, control watcher, closing once)
is :class:`~engine.lifecycle.RunLifecycle`'s; events and commands are the bridge's
(:class:`~engine.callbacks.bridge.Bridge`, whose batch hooks this callback hands to Keras
directly, so the hot path is the bridge's alone); this module opens a run at
``on_train_begin``, describes the fit, and closes the run when ``fit`` ends — at
``on_train_end``, or, when an exception escapes ``fit`` (Keras then calls no hook), by
:meth:`KwbCallback.guard` around the call (``kwb run``) or by a watchdog that sees the
``fit`` frame gone from the training thread's stack (a bare callback).
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from engine.callbacks.checkpoint import save_model_atomic
from engine.control import Control, EventSink
from engine.kerasapi import keras as _keras_module
from engine.lifecycle import RunLifecycle
from engine.runs import RunDir, create_script_run_dir, write_script_json

keras = _keras_module()

__all__ = ["KwbCallback", "callback_class", "describe_fit", "save_model_best_effort"]


def save_model_best_effort(model: Any, run: RunDir) -> tuple[Path | None, str | None]:
    """Save ``model.keras``; when Keras cannot serialise the model, its weights instead.

    Returns the saved path (or None) and a note for the user (or None).
    """
    try:
        return save_model_atomic(model, run.model), None
    except Exception as exc:  # unregistered custom objects, a subclassed model without get_config …
        target = run.path / "model.weights.h5"
        try:
            model.save_weights(target)
        except Exception as again:
            return None, f"the model could not be saved ({type(exc).__name__}: {exc}); nor its weights ({again})"
        why = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return target, f"saved the weights only, to {target.name}: the model cannot be saved as .keras ({why})"


def describe_fit(arguments: dict[str, Any]) -> dict[str, Any]:
    """What ``script.json`` records of a ``fit`` call's arguments (no data, only its kind and size)."""

    def kind(value: Any) -> str | None:
        if value is None:
            return None
        if hasattr(value, "shape"):
            return f"{type(value).__name__} {tuple(value.shape)}"
        if isinstance(value, (list, tuple)):
            return f"{type(value).__name__} of {len(value)}"
        if isinstance(value, dict):
            return f"dict of {sorted(map(str, value))}"
        return type(value).__name__

    validation = arguments.get("validation_data")
    return {
        "x": kind(arguments.get("x")),
        "y": kind(arguments.get("y")),
        "epochs": arguments.get("epochs"),
        "initial_epoch": arguments.get("initial_epoch"),
        "batch_size": arguments.get("batch_size"),
        "steps_per_epoch": arguments.get("steps_per_epoch"),
        "validation_split": arguments.get("validation_split") or None,
        "validation_data": kind(validation),
        "validation_steps": arguments.get("validation_steps"),
        "class_weight": arguments.get("class_weight") is not None,
        "sample_weight": arguments.get("sample_weight") is not None,
    }


def _summary(model: Any) -> list[str]:
    lines: list[str] = []
    try:
        model.summary(print_fn=lambda line, *a, **k: lines.extend(str(line).splitlines()))
    except Exception as exc:  # an unbuilt subclassed model
        lines.append(f"(no summary: {exc})")
    return lines


def _compiled(model: Any) -> dict[str, Any]:
    """What script.json records of how the model was compiled: the optimizer's name and learning rate, the loss when it has a name.

    Under the config's key paths (``compile.optimizer.learning_rate``), so ``kwb compare``
    lines script runs up with config runs. A schedule's rate is its value as training starts.
    """
    out: dict[str, Any] = {}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        # The class, as a config names it (sgd, adam, rmsprop): the optimizer's own ``name`` is made unique
        # per process by Keras (sgd_39 in a process that made 39 before it).
        out["optimizer"] = {"name": type(optimizer).__name__.lower()}
        try:
            out["optimizer"]["learning_rate"] = float(f"{float(optimizer.learning_rate):.7g}")  # float32 noise off
        except (TypeError, ValueError, AttributeError):  # a rate Keras cannot read before training
            pass
    try:
        loss = (model.get_compile_config() or {}).get("loss")
    except Exception:  # not compiled through compile(), or an old Keras
        loss = None
    if isinstance(loss, str):
        out["loss"] = loss
    return out


def _metric_names(model: Any, arguments: dict[str, Any] | None) -> tuple[str, ...]:
    """The log keys ``fit`` will produce, from what the model was compiled with (Keras builds its metrics later)."""
    try:
        metrics = (model.get_compile_config() or {}).get("metrics") or []
    except Exception:  # not compiled through compile(), or an old Keras
        metrics = []
    names = ["loss"]
    for metric in metrics if isinstance(metrics, (list, tuple)) else []:
        name = metric if isinstance(metric, str) else (metric.get("config") or {}).get("name") if isinstance(metric, dict) else None
        if name:
            names.append(str(name))
    validation = bool(arguments and (arguments.get("validation_split") or arguments.get("validation_data") is not None))
    return tuple(names + [f"val_{n}" for n in names] if validation else names)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "keras": getattr(keras, "__version__", "?")}
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        out["tensorflow"] = getattr(tf, "__version__", "?")
    return out


class _KwbHooks:
    """Records a ``fit`` as a kwb run and lets kwb's controls steer it.

    Add it last (after your own callbacks) to ``fit``'s ``callbacks``. Each ``fit`` it is
    given makes one run; one instance may serve several ``fit`` calls in turn.

    Args:
        name: the run's name (the run directory is ``<stamp>-<name>``). Defaults to "fit".
        runs_dir: where run directories go. Defaults to "runs".
        sink: also receives every event. Defaults to None.
        control: the command inbox (a process may steer its own fit). Defaults to a new one per run.
        script: extra facts for script.json (``kwb run`` records the script, its arguments
            and the working directory). Defaults to None.
        fit_arguments: the ``fit`` call's arguments, for script.json. Defaults to None
            (then only what Keras tells the callback: epochs and steps).
        announce: called with the run directory as soon as it exists. Defaults to None.
        run: a run directory made beforehand (``kwb run --detach`` makes the first one
            before the script starts) to record this callback's first ``fit`` into.
            Defaults to None: each ``fit`` makes its own.
    """

    def __init__(
        self,
        name: str | None = None,
        runs_dir: str | Path = "runs",
        *,
        sink: EventSink | None = None,
        control: Control | None = None,
        script: dict[str, Any] | None = None,
        fit_arguments: dict[str, Any] | None = None,
        announce: Any = None,
        run: RunDir | None = None,
    ) -> None:
        super().__init__()
        self.name = name or "fit"
        self.runs_dir = Path(runs_dir)
        self.sink = sink
        self.control = control
        self.script = dict(script or {})
        self.fit_arguments = fit_arguments
        self.announce = announce
        self.run: RunDir | None = None
        self._premade = run
        self.life: RunLifecycle | None = None
        self.note: str | None = None
        self._lock = threading.Lock()
        self._guarded = False
        self._fit_frame: Any = None
        self._history: Any = None

    # ------------------------------------------------------------ opening and closing
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._close_stale()
        epochs = int(self.params.get("epochs") or 0)
        info = {
            **self.script,
            "versions": _versions(),
            "model": {"class": type(self.model).__name__, "summary": _summary(self.model)},
            "compile": _compiled(self.model),
            "fit": describe_fit(self.fit_arguments) if self.fit_arguments is not None else {"epochs": epochs},
            "recorded": time.time(),
        }
        if self._premade is not None:
            self.run, self._premade = self._premade, None
            write_script_json(self.run, info)
            self.run.write_status(epochs=epochs, pid=os.getpid())
        else:
            self.run = create_script_run_dir(self.name, self.runs_dir, info, epochs=epochs)
        if self.announce is not None:
            self.announce(self.run)
        self.life = RunLifecycle(self.run, sink=self.sink, control=self.control, capture_output=False).__enter__()
        bridge = self.life.make_bridge(batch_size=(self.fit_arguments or {}).get("batch_size"))
        bridge.set_model(self.model)
        bridge.set_params(self.params)
        # The bridge's batch hooks go to Keras as they are: no call of ours on the hot path.
        self.on_train_batch_begin = bridge.on_train_batch_begin  # type: ignore[method-assign]
        self.on_train_batch_end = bridge.on_train_batch_end  # type: ignore[method-assign]
        self.life.started(
            self.model, epochs=epochs, name=self.name, initial_epoch=int((self.fit_arguments or {}).get("initial_epoch") or 0),
            steps_per_epoch=self.params.get("steps"), batch_size=(self.fit_arguments or {}).get("batch_size"),
            metrics=_metric_names(self.model, self.fit_arguments),
        )  # fmt: skip
        bridge.on_train_begin(logs)
        self._history = keras.callbacks.CSVLogger(str(self.run.history), append=True)
        self._history.set_model(self.model)
        self._history.on_train_begin(logs)
        if not self._guarded:
            self._watch_fit_frame()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._close(None)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Around a ``fit`` call: an exception escaping it closes the run as failed (then propagates)."""
        self._guarded = True
        try:
            yield
        except BaseException as exc:
            self._close(exc)
            raise
        finally:
            self._guarded = False

    def _close(self, exc: BaseException | None) -> None:
        with self._lock:
            life, self.life, self._fit_frame = self.life, None, None
        if life is None:
            return
        self.on_train_batch_begin = type(self).on_train_batch_begin.__get__(self)  # type: ignore[method-assign]
        self.on_train_batch_end = type(self).on_train_batch_end.__get__(self)  # type: ignore[method-assign]
        if life.bridge is not None:
            life.bridge.on_train_end()  # the optimizer gets its own schedule back
        if self._history is not None:
            self._history.on_train_end()  # closes history.csv
            self._history = None
        if exc is None:
            life.conclude()
            life.result.model_path, self.note = save_model_best_effort(self.model, life.run)
            if self.note:
                from engine import events as ev

                life.out.emit(ev.Log(level="warning", message=self.note))
            life.__exit__(None, None, None)
        else:
            life.__exit__(type(exc), exc, exc.__traceback__)

    def _close_stale(self) -> None:
        """A previous ``fit`` with this callback raised and nobody closed its run: close it now."""
        if self.life is not None:
            self._close(RuntimeError("fit ended with an exception before this run was closed"))

    # ------------------------------------------------------------ the bare callback's watchdog
    def _watch_fit_frame(self) -> None:
        frame, model = sys._getframe(1), self.model
        while frame is not None and not (frame.f_code.co_name == "fit" and frame.f_locals.get("self") is model):
            frame = frame.f_back
        if frame is None:
            return
        self._fit_frame = frame
        thread_id = threading.get_ident()
        threading.Thread(target=self._watchdog, args=(thread_id, frame), name="kwb-fit-watch", daemon=True).start()

    def _watchdog(self, thread_id: int, fit_frame: Any) -> None:
        while self._fit_frame is fit_frame:
            time.sleep(1.0)
            frame = sys._current_frames().get(thread_id)
            while frame is not None and frame is not fit_frame:
                frame = frame.f_back
            if frame is None and self._fit_frame is fit_frame:
                error = getattr(sys, "last_value", None) or RuntimeError("fit ended with an exception")
                self._close(error if isinstance(error, BaseException) else RuntimeError(str(error)))
                return

    # ------------------------------------------------------------ the other hooks, through the bridge
    def _bridge(self) -> Any:
        return self.life.bridge if self.life is not None else None

    def _note_lr(self, bridge: Any) -> None:
        """Report a rate the script's callbacks set; an optimizer's own schedule moves every step, the LR chart shows it."""
        if isinstance(getattr(self.model.optimizer, "_learning_rate", None), keras.optimizers.schedules.LearningRateSchedule):
            bridge.note_lr_quietly()
        else:
            bridge.note_lr("script")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (bridge := self._bridge()) is not None:
            self._note_lr(bridge)  # the script's own LearningRateScheduler ran before us
            bridge.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (bridge := self._bridge()) is not None:
            bridge.on_epoch_end(epoch, logs)
            self._history.on_epoch_end(epoch, dict(bridge.last_logs))  # with the learning rate, as kwb train's
            self._note_lr(bridge)  # the script's own ReduceLROnPlateau may have moved it
            if self.model.stop_training and bridge.stop_reason in (None, "nan"):
                bridge.note_stop("nan" if bridge.stop_reason == "nan" else "early_stopping")


class KwbCallback(_KwbHooks, keras.callbacks.Callback):
    __doc__ = _KwbHooks.__doc__


_FOR_BASE: dict[type, type] = {keras.callbacks.Callback: KwbCallback}


def callback_class(model: Any) -> type:
    """The ``KwbCallback`` class for ``model``'s Keras: Keras 3's, or tf-keras' for a tf-keras model."""
    if any(c.__module__.startswith("tf_keras") for c in type(model).__mro__):
        import tf_keras

        base = tf_keras.callbacks.Callback
        if base not in _FOR_BASE:
            _FOR_BASE[base] = type("KwbCallback", (_KwbHooks, base), {"__doc__": _KwbHooks.__doc__})
        return _FOR_BASE[base]
    return KwbCallback
