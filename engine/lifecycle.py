"""One run's life around any ``model.fit``: its sinks, heartbeat and control channel, closed exactly once.

``RunLifecycle`` is a context manager over an open :class:`~engine.runs.RunDir`::

    with RunLifecycle(run, sink=printer) as life:
        bridge = life.make_bridge(batch_size=32)
        life.started(model, epochs=10)           # run_started; heartbeat and watcher go live
        model.fit(..., callbacks=[bridge, ...])
        life.conclude()                          # finished, stopped or failed (NaN), from the bridge

However the block ends (normally, an exception, Ctrl-C), leaving it stops the control
watcher and the heartbeat, writes the final ``status.json``, emits ``run_ended``, writes
``error.txt`` for a failed run and closes ``events.jsonl`` — once, in that order. An
exception escaping the block is reported first (an ``error`` event with its traceback and
a ``failed`` status); it is re-raised unless the caller asked otherwise (``reraise=False``:
``kwb train`` and the app report a failed run as a result, not an exception).

A write the storage refuses (a full disk, an I/O error) on any of the run's files fails the
run with one line naming the file ("no space left on device while writing
checkpoints/epoch-007.keras", ``engine.write_errors``); closing then writes what it still
can and raises nothing, so the line reaches the user, and ``kwb resume`` continues from
the last complete backup once there is space again.

The lifecycle never knows who watches (the app's queue, the CLI's printer, nobody) or how
the model was made (a config, a user's script): that is the caller's business.
"""

from __future__ import annotations

import re
import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from engine import events as ev
from engine.control import Control, EventSink, FanoutSink, JsonlSink
from engine.native_log import native_log
from engine.runs import Heartbeat, RunDir, read_history
from engine.write_errors import DiskWriteError, write_failure

__all__ = ["RunLifecycle", "RunResult", "short_message"]


@dataclass
class RunResult:
    """How a run ended, as ``kwb train`` reports it and ``status.json`` records it."""

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


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def short_message(text: str, limit: int = 500) -> str:
    """``text`` on one line without terminal colour codes, cut to ``limit`` characters."""
    text = " ".join(_ANSI.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RunLifecycle:
    """Opens a run directory's live parts and closes them exactly once.

    Args:
        run: the run directory, already created (or prepared for a resume).
        sink: also receives every event (the app's queue, the CLI printer). Defaults to None.
        control: the command inbox the run directory's control/ folder feeds. Defaults to a new one.
        capture_output: move fd 2 (TensorFlow's own output) into ``log_path`` while the run is
            open. The caller owns starting and stopping the redirect itself. Defaults to True.
        watch_control: accept commands dropped in the run's control/ folder. Defaults to True.
        log_path: where TensorFlow's output goes. Defaults to the run's train.log.
        public: the run directory is the one users see (False for a multi-worker scratch
            folder: ``run_started`` then names no directory). Defaults to True.
        reraise: re-raise an exception that escapes the block after reporting it;
            KeyboardInterrupt and SystemExit are always re-raised. Defaults to True.
        trained_before_s: training time of the run's earlier processes (a resumed run), added
            to this one's. Defaults to 0.0.
    """

    def __init__(
        self,
        run: RunDir,
        *,
        sink: EventSink | None = None,
        control: Control | None = None,
        capture_output: bool = True,
        watch_control: bool = True,
        log_path: Path | None = None,
        public: bool = True,
        reraise: bool = True,
        trained_before_s: float = 0.0,
    ) -> None:
        self.run = run
        self.control = control if control is not None else Control()
        self.result = RunResult(status="failed", run_dir=run.path)
        self.initial_epoch = 0
        self.model: Any = None
        self.bridge: Any = None
        self.public = public
        self._jsonl = _Guarded(JsonlSink(run.events))
        self.out: EventSink = FanoutSink([self._jsonl, sink] if sink is not None else [self._jsonl])
        self._capture = capture_output
        self._watch = watch_control and public
        self._log_path = log_path if log_path is not None else run.log
        self._reraise = reraise
        self._heartbeat = Heartbeat(run)
        self._stack = ExitStack()
        self._error_text: str | None = None
        self._t0 = time.monotonic()
        self._train_t0: float | None = None
        self._paused_s = 0.0
        self._trained_before_s = trained_before_s
        self._paused_since: float | None = None

    def __enter__(self) -> "RunLifecycle":
        if self._capture:
            native_log.switch(self._log_path)
        else:
            self.run.log.touch()
        self._stack.callback(self._jsonl.close)
        self._stack.callback(self._close)
        self._t0 = time.monotonic()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        self._jsonl.quiet = True  # from here on a failing events.jsonl must not hide how the run ended
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C twice: the user stopped it, nothing failed
            self.result.status, self.result.reason = "stopped", "interrupt"
        elif exc is not None:
            self._record_failure(exc)
        self._stack.close()
        if exc is None or isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return False
        return not self._reraise

    def make_bridge(self, *, batch_size: int | None = None, control: Control | None = None) -> Any:
        """The run's :class:`~engine.callbacks.bridge.Bridge`, wired to this run's events and heartbeat.

        Args:
            batch_size: samples per step, for samples/s. Defaults to None.
            control: the inbox the bridge reads. Defaults to the lifecycle's own
                (a multi-worker run hands a private one that ``CommandSync`` feeds).
        """
        from engine.callbacks.bridge import Bridge

        self.bridge = Bridge(
            self.out,
            control if control is not None else self.control,
            checkpoint_dir=self.run.checkpoints,
            batch_size=batch_size,
            on_progress=self._on_progress,
            on_state=self._on_state,
        )
        return self.bridge

    def started(self, model: Any, *, epochs: int, name: str | None = None, initial_epoch: int = 0, **fields: Any) -> None:
        """Emit ``run_started``, then go live: status ``running``, heartbeat, control watcher.

        Args:
            model: the compiled model about to ``fit`` (its size and learning rate are reported).
            epochs: the epochs ``fit`` was asked for.
            name: the run's name. Defaults to the run directory's name.
            initial_epoch: the epoch ``fit`` starts at (a resumed run). Defaults to 0.
            **fields: the other ``RunStarted`` attributes (steps, samples, metrics, strategy …).
        """
        from engine.callbacks.schedule import get_lr

        self.model, self.initial_epoch = model, initial_epoch
        self.out.emit(
            ev.RunStarted(
                run_id=self.run.id, run_dir=str(self.run.path) if self.public else None, name=name or self.run.id,
                epochs=epochs, initial_epoch=initial_epoch,
                params=_params(model), learning_rate=get_lr(model.optimizer), **fields,
            )
        )  # fmt: skip
        self._train_t0 = time.monotonic()
        self.run.write_status(state="running", heartbeat=time.time(), train_started=time.time())
        self._heartbeat.start()
        self._stack.callback(self._heartbeat.stop)
        if self._watch:
            from engine.control_dir import ControlWatcher

            watcher = ControlWatcher(self.run, self.control, self.out).start()
            self._stack.callback(watcher.stop)

    def conclude(self) -> RunResult:
        """After ``fit`` returned: finished, stopped or failed, from why the bridge stopped."""
        result, reason = self.result, self.bridge.stop_reason if self.bridge is not None else None
        if reason == "nan":
            epoch = self.bridge.epoch + 1
            self.fail(f"the loss became NaN or infinite in epoch {epoch}; training stopped", reason="nan")
        elif reason and reason != "early_stopping":  # user, interrupt, signal, control …
            result.status, result.reason = "stopped", reason
        else:
            result.status, result.reason = "finished", reason
        return result

    def fail(self, message: str, *, reason: str | None = None, detail: str | None = None) -> None:
        """Mark the run failed: an ``error`` event now; ``error.txt`` (``detail`` or ``message``) at close.

        ``message`` is a line or two (the cause, then what to change); with a ``detail`` (the
        traceback) the event adds a line saying where the full text will be.
        """
        self.result.status, self.result.reason = "failed", reason
        self.result.error = message
        self._error_text = detail if detail is not None else message
        lines = [short_message(line) for line in message.splitlines() if line.strip()]
        if detail is not None and self.public:
            lines.append(f"full traceback: {self.run.error}")
        self.out.emit(ev.Error(message="\n".join(lines), fatal=True, traceback=detail))

    def _record_failure(self, exc: BaseException) -> None:
        from engine.diagnose import explain

        detail = _ANSI.sub("", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        named = isinstance(exc, DiskWriteError)  # a save that knows its file (checkpoint, backup, model.keras)
        disk = write_failure(exc, None if named else _file_written(exc, self.run), self.run.path)
        if disk is not None:
            hint = f"free some space, then continue the run: kwb resume {self.run.id}" if self.public else None
            self.fail(disk.line + (f"\n{hint}" if hint else ""), reason="disk", detail=detail)
            return
        self.fail(explain(exc, self.model).text, detail=detail)

    def _on_progress(self, done: int, total: int) -> None:
        # Once an epoch, written now: kwb runs and the Runs screen show the best so far, and a killed run keeps
        # its epochs_done (a disk that refuses status.json fails the run, like any other file of it).
        from engine.callbacks.monitor import best_of

        best = best_of(self.bridge.history, self.model) if self.bridge is not None else {}
        self._heartbeat.update(epochs_done=done, state="running", best=best)
        self._heartbeat.beat()

    def _on_state(self, state: str) -> None:
        # Pauses are counted out of the run's time (status.json's paused_s, run_ended's duration_s).
        if state == "paused":
            self._paused_since = time.monotonic()
            self._heartbeat.update(state=state, paused_at=time.time())
        else:
            if self._paused_since is not None:
                self._paused_s += time.monotonic() - self._paused_since
                self._paused_since = None
            self._heartbeat.update(state=state, paused_s=round(self._paused_s, 3), paused_at=None)
        self._heartbeat.beat()  # kwb runs / the Runs screen should see "paused" now, not in 2 s

    def training_s(self) -> float:
        """Seconds of training so far: from ``run_started`` (or the block's start) on, pauses left out, plus earlier processes'."""
        now = time.monotonic()
        paused = self._paused_s + (now - self._paused_since if self._paused_since is not None else 0.0)
        this = max(0.0, now - (self._train_t0 if self._train_t0 is not None else self._t0) - paused)
        return this + self._trained_before_s

    def _close(self) -> None:
        """The end of every run: error.txt, final status, run_ended (the watcher and heartbeat are stopped)."""
        from engine.callbacks.monitor import best_of

        result = self.result
        done = self.bridge.epochs_completed if self.bridge is not None else 0
        result.epochs_completed = max(done, self.initial_epoch)
        result.history = read_history(self.run.history) or (self.bridge.history if self.bridge is not None else [])
        result.best = best_of(result.history, self.model)
        if result.status == "failed" and self._error_text is not None:
            try:  # the CLI points at error.txt for every failed run
                self.run.error.write_text(self._error_text.rstrip("\n") + "\n")
            except OSError:
                self.run.error.unlink(missing_ok=True)  # a full disk: no half-written error.txt either
        model_path = str(result.model_path) if result.model_path else None
        duration = self.training_s()
        try:  # a full disk may refuse it too: then the run reads as died, and resumes the same way
            self.run.write_status(
                state=result.status, reason=result.reason, error=result.error, ended=time.time(), heartbeat=time.time(),
                duration_s=round(duration, 3), paused_s=round(self._paused_s, 3), paused_at=None,
                epochs_done=result.epochs_completed, best=result.best, evaluation=result.evaluation, model=model_path,
            )  # fmt: skip
        except OSError:
            pass
        self.out.emit(
            ev.RunEnded(
                status=result.status, epochs_completed=result.epochs_completed, duration_s=duration,
                model_path=model_path, best=result.best, test=result.evaluation, reason=result.reason,
            )
        )  # fmt: skip


class _Guarded:
    """The run's events.jsonl sink: a failing write raises while training (it fails the run), not once ``quiet``.

    Once the lifecycle is closing, a full disk must not turn the report of how the run
    ended into a second exception: writes are then dropped after the first failure.
    """

    def __init__(self, sink: JsonlSink) -> None:
        self.sink = sink
        self.path = sink.path
        self.quiet = False
        self._broken = False

    def emit(self, event: ev.Event) -> None:
        if self._broken:
            return
        try:
            self.sink.emit(event)
        except OSError:
            self._broken = True
            if not self.quiet:
                raise

    def close(self) -> None:
        try:
            self.sink.close()
        except OSError:
            pass


_WRITERS = {"CSVLogger": "history", "JsonlSink": "events", "_Guarded": "events", "BackupAndRestore": "backup",
            "AtomicBackupAndRestore": "backup", "Heartbeat": "status", "RunDir": "status"}  # fmt: skip
"""Who was writing, by the class of a frame's ``self``, and the run file it writes."""


def _file_written(exc: BaseException, run: RunDir) -> Path | None:
    """The run file the innermost known writer in ``exc``'s traceback was writing (a buffered write names none)."""
    found: Path | None = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        attr = _WRITERS.get(type(owner).__name__) if owner is not None else None
        if attr is not None:
            found = getattr(run, attr)
        tb = tb.tb_next
    return found


def _params(model: Any) -> int:
    """The model's parameter count; 0 for a subclassed model Keras has not built yet (it builds on the first batch)."""
    try:
        return int(model.count_params())
    except ValueError:
        return 0
