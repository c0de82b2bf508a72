"""The Keras callback that turns ``fit()`` into events and applies commands at batch boundaries.

The hot path is the batch hooks: ``on_train_batch_begin`` reads one attribute to
see whether a command is pending and the clock to decide whether a ``batch`` event
is due (at most every ``interval`` seconds); ``on_train_batch_end`` reads the same
attribute, so a command that arrives during a batch is applied as soon as that batch
ends (a stop runs no further batch). Metric values are converted to floats only when
an event is emitted. On the TensorFlow backend Keras converts the batch logs to
floats on the training thread after every batch whatever the callbacks are
(``keras.src.backend.tensorflow.core.IS_THREAD_SAFE`` is False, so it never
dispatches batch hooks to its thread pool); an end-of-batch hook therefore adds only
its own call.

Commands are applied on the training thread through one table from ``CommandName``
to a handler method (``Bridge._handlers``, built once), so only a pending command
costs a lookup.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from engine import events as ev
from engine.callbacks.checkpoint import save_model_atomic
from engine.callbacks.schedule import LrNotSettable, get_lr, scale_schedule, set_lr, unscale_schedule
from engine.control import Command, CommandName, Control, EventSink
from engine.kerasapi import keras as _keras_module

keras = _keras_module()

__all__ = ["Bridge"]


def _floats(logs: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for k, v in (logs or {}).items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out


class Bridge(keras.callbacks.Callback):
    """Events out, commands in.

    Args:
        sink: where events go. Called on the training thread.
        control: the command inbox. Defaults to a fresh ``Control``.
        checkpoint_dir: where ``checkpoint`` commands write ``manual-NNN.keras``.
            Defaults to None, which refuses checkpoint commands with an error event.
        interval: minimum seconds between ``batch`` events. Defaults to 0.1.
        batch_size: samples per step, for samples/s. Defaults to None.
        on_progress: called with (epochs done, epochs) after each epoch. Defaults to None.
        on_state: called with "paused", "running" or "stopping" when that changes. Defaults to None.
        waiter: how a paused bridge waits for the next command, ``waiter(timeout) -> bool``.
            Defaults to ``control.wait``; a multi-worker run passes ``CommandSync.wait`` so
            every worker waits, and resumes, in lockstep.
    """

    def __init__(
        self,
        sink: EventSink,
        control: Control | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        interval: float = 0.1,
        batch_size: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_state: Callable[[str], None] | None = None,
        waiter: Callable[[float], bool] | None = None,
    ) -> None:
        super().__init__()
        self.sink = sink
        self.control = control if control is not None else Control()
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.interval = interval
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.on_state = on_state
        self.waiter = waiter if waiter is not None else self.control.wait
        self.lr_multiplier = 1.0
        """Product of every user LR change; schedules multiply their value by it."""
        self._handlers: dict[CommandName, Callable[[Command], None]] = {
            CommandName.STOP: self._on_stop,
            CommandName.LR_SCALE: self._on_lr,
            CommandName.SET_LR: self._on_lr,
            CommandName.CHECKPOINT: self._on_checkpoint,
            CommandName.PAUSE: self._on_pause,
            CommandName.RESUME: self._on_resume,
        }
        """What each command does, on the training thread at a batch boundary."""
        self._queue: deque[Command] = deque()
        """Commands drained and not yet served (``_apply_commands``)."""
        self._reset()

    def _reset(self) -> None:
        self.epoch = 0
        self.step = 0
        self.stop_reason: str | None = None
        self.paused = False
        self.epochs_completed = 0
        self.last_logs: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        self._last_emit = 0.0
        self._epoch_t0 = time.monotonic()
        self._known_lr: float | None = None
        self._first_epoch = False
        self._manual_n = 0
        self._manual_at: tuple[tuple[int, int], Path] | None = None
        """(epoch, step) of the last manual checkpoint, and its file."""

    # ------------------------------------------------------------ Keras hooks
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()
        if self.checkpoint_dir is not None and self.checkpoint_dir.exists():
            self._manual_n = len(list(self.checkpoint_dir.glob("manual-*.keras")))
        if scale_schedule(self.model.optimizer):
            # Keras made the train step before this hook; made again, it traces with the wrapper.
            self.model.make_train_function(force=True)
        self._known_lr = get_lr(self.model.optimizer)
        self._first_epoch = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        unscale_schedule(self.model.optimizer)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._first_epoch:
            self._first_epoch = False
            if epoch:  # a resumed fit: the backup restored the optimizer after on_train_begin read its rate
                self.note_lr("resume")
        self.epoch = epoch
        self.step = 0
        self._epoch_t0 = time.monotonic()
        n = getattr(self.model, "steps_per_execution", None)  # after AutoSteps' re-tune, which runs first
        self.sink.emit(ev.EpochStarted(epoch=epoch, epochs=self.params.get("epochs", 0),
                                       steps_per_execution=n if isinstance(n, int) else None))
        if self.control.pending:
            self._apply_commands()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # The hot path: keep it to an attribute read and a clock read.
        if self.control.pending:
            self.step = batch
            self._apply_commands()
        now = time.monotonic()
        if now - self._last_emit >= self.interval and batch:
            # batch is the number of steps done this epoch; at 0 there is nothing to report yet.
            self._last_emit = now
            self.step = batch
            self._emit_batch(batch, now)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # A command that came in during this batch acts now: Keras checks stop_training next.
        if self.control.pending:
            steps = self.params.get("steps")
            # With steps_per_execution, ``batch`` is the last step of the execution.
            self.step = min(batch + 1, steps) if steps else batch + 1
            self._apply_commands()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = _floats(logs)  # a copy: never mutate the dict Keras hands us
        lr = get_lr(self.model.optimizer)
        values.setdefault("learning_rate", lr)
        self.last_logs = values
        self.history.append(values)
        self.epochs_completed = epoch + 1
        self.sink.emit(
            ev.EpochEnded(epoch=epoch, logs=values, learning_rate=lr, duration_s=time.monotonic() - self._epoch_t0)
        )
        if self.on_progress is not None:
            self.on_progress(epoch + 1, self.params.get("epochs", 0))
        if any(math.isnan(v) or math.isinf(v) for k, v in values.items() if "loss" in k) and self.stop_reason is None:
            self.stop_reason = "nan"
        if self.control.pending:
            self._apply_commands()

    # ------------------------------------------------------------ events
    def emit_batch(self, batch: int) -> None:
        """Emit a ``batch`` event now. A multi-worker run sets ``interval`` to infinity and calls
        this at steps the workers agreed on, since reading metrics there is a collective."""
        now = time.monotonic()
        self._last_emit = now
        self.step = batch
        self._emit_batch(batch, now)

    def _emit_batch(self, batch: int, now: float) -> None:
        steps = self.params.get("steps")
        elapsed = now - self._epoch_t0
        rate = batch * self.batch_size / elapsed if self.batch_size and elapsed > 0 else None
        metrics = _floats(self.model.get_metrics_result())
        self.sink.emit(ev.Batch(epoch=self.epoch, step=batch, steps=steps, logs=metrics, samples_per_s=rate))

    def note_lr(self, source: str) -> None:
        """Emit ``lr_changed`` if something other than a command moved the learning rate."""
        lr = get_lr(self.model.optimizer)
        if self._known_lr is not None and not math.isclose(lr, self._known_lr, rel_tol=1e-6):
            self.sink.emit(ev.LrChanged(old=self._known_lr, new=lr, source=source, epoch=self.epoch))
        self._known_lr = lr

    def note_lr_quietly(self) -> None:
        """Take the current rate as known without an event (a schedule that moves it every step)."""
        self._known_lr = get_lr(self.model.optimizer)

    def note_stop(self, reason: str) -> None:
        """Emit ``stopping`` once when a callback (early stopping, NaN) ended training."""
        if self.stop_reason is None or self.stop_reason == "nan":
            self.stop_reason = reason
            self.sink.emit(ev.Stopping(reason=reason, epoch=self.epoch, step=self.step))

    # ------------------------------------------------------------ commands
    def _apply_commands(self) -> None:
        """Serve the pending commands in order. A pause among them blocks here, and the commands
        drained with it ("p" then "l" pasted in one write) are served during the pause, not after it."""
        self._queue.extend(self.control.drain())
        while self._queue:
            cmd = self._queue.popleft()
            self._handlers[cmd.name](cmd)

    def _refuse(self, cmd: Command, message: str) -> None:
        self.sink.emit(ev.Error(message=message, command=cmd.name.value))

    def _on_stop(self, cmd: Command) -> None:
        if self.stop_reason is None or self.stop_reason == "nan":
            self.stop_reason = cmd.source if cmd.source != "user" else "user"
            self.model.stop_training = True
            self.sink.emit(ev.Stopping(reason=self.stop_reason, epoch=self.epoch, step=self.step))
            self._state("stopping")
        self.paused = False

    def _on_lr(self, cmd: Command) -> None:
        opt = self.model.optimizer
        old = get_lr(opt)
        new = old * float(cmd.value) if cmd.name is CommandName.LR_SCALE else float(cmd.value)  # type: ignore[arg-type]
        try:
            set_lr(opt, new)
        except LrNotSettable as exc:
            self._refuse(cmd, f"cannot change the learning rate: {exc}")
            return
        actual = get_lr(opt)
        if old > 0:
            self.lr_multiplier *= actual / old
        self._known_lr = actual
        self.sink.emit(ev.LrChanged(old=old, new=actual, source=cmd.source, epoch=self.epoch, step=self.step))

    def _on_checkpoint(self, cmd: Command) -> None:
        if self.checkpoint_dir is None:
            self._refuse(cmd, "this run has no checkpoint folder")
            return
        at = (self.epoch, self.step)
        if self._manual_at is not None and self._manual_at[0] == at:  # a second "c" at the same step (a paste, a
            path = self._manual_at[1]  # double press): those weights are saved already; answer with that file
        else:
            self._manual_n += 1
            path = self.checkpoint_dir / f"manual-{self._manual_n:03d}.keras"
            try:
                save_model_atomic(self.model, path)
            except Exception as exc:  # disk full, permissions: refuse, keep training
                self._manual_n -= 1
                self._refuse(cmd, f"checkpoint failed: {exc}")
                return
            self._manual_at = (at, path)
        self.sink.emit(ev.CheckpointSaved(path=str(path), kind="manual", epoch=self.epoch, step=self.step))

    def _on_pause(self, cmd: Command) -> None:
        """Block the training thread until resume or stop, still serving other commands."""
        if self.paused:
            self._refuse(cmd, "already paused")
            return
        self.paused = True
        t0 = time.monotonic()
        self.sink.emit(ev.Paused(epoch=self.epoch, step=self.step))
        self._state("paused")
        while self.paused:
            if self._queue or self.waiter(0.5):
                self._apply_commands()  # a second pause lands in _on_pause's refusal above
        paused_s = time.monotonic() - t0
        self._last_emit = time.monotonic()
        self._epoch_t0 += paused_s  # samples/s and ETA should not count the pause
        self.sink.emit(ev.Resumed(epoch=self.epoch, step=self.step, paused_s=paused_s))
        if self.stop_reason is None:
            self._state("running")

    def _on_resume(self, cmd: Command) -> None:
        if not self.paused:
            self._refuse(cmd, "not paused")
        else:
            self.paused = False

    def _state(self, state: str) -> None:
        if self.on_state is not None:
            self.on_state(state)
