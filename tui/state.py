"""The dashboard as a pure reducer: ``state = reduce(state, event)``, no Textual here.

Replaying a recorded ``events.jsonl`` through :func:`reduce` gives exactly the state
a live run showed, so the dashboard renders the same either way. Every time shown is
computed from event timestamps (never the wall clock), which keeps replays and
snapshots deterministic. "Elapsed" is training time: from ``run_started`` on, pauses
left out (the engine's ``run_ended.duration_s`` and ``kwb runs``' TIME count the same
way); the log's times count the same clock. Series are bounded: once one holds ``SERIES_CAP`` points it
is halved (every other point kept, the newest always kept), so a 200k-batch run
costs the same memory as a 2k-batch one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from engine import events as ev
from engine.words import counted
from tui.families import bare, headline, output_names

__all__ = [
    "SERIES_CAP",
    "LOG_CAP",
    "LogLine",
    "DashState",
    "reduce",
    "replay",
    "append_point",
    "format_duration",
]

SERIES_CAP = 400
"""Most points kept in one chart series before it is downsampled by half."""
LOG_CAP = 200
"""Most lines kept in the event log."""

Point = tuple[float, float]


def append_point(series: tuple[Point, ...], point: Point, cap: int = SERIES_CAP) -> tuple[Point, ...]:
    """``series + (point,)``, halved (keeping the newest point) when it would exceed ``cap``."""
    out = series + (point,)
    if len(out) > cap:
        # Keep every other point counted back from the newest, so the latest stays.
        out = out[::-1][::2][::-1]
    return out


def format_duration(seconds: float | None, missing: str = "--:--") -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``; None (or NaN, or negative) -> ``missing``.

    Args:
        seconds: the duration.
        missing: what stands for an unknown duration. Defaults to ``--:--`` (the dashboard; the CLI uses ``-``).
    """
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return missing
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass(frozen=True)
class LogLine:
    """One line of the dashboard's event log; ``at`` is seconds since the run started."""

    at: float
    kind: str
    """info, lr, checkpoint, pause, stop, error or end: picks the colour."""
    text: str


@dataclass(frozen=True)
class DashState:
    """Everything the dashboard shows. Immutable; :func:`reduce` returns a new one."""

    status: str = "idle"
    """idle, starting, running, paused, stopping, finished, stopped or failed."""
    run_id: str | None = None
    run_dir: str | None = None
    name: str = ""
    epochs: int = 0
    epoch: int = 0
    """Epochs completed (shown as ``epoch + 1`` while one is in progress)."""
    step: int = 0
    steps: int | None = None
    batch_size: int | None = None
    train_samples: int | None = None
    params: int = 0
    device: str = ""
    strategy: str = "default"
    replicas: int = 1
    workers: int = 1
    steps_per_execution: int = 1
    """Training steps per call into TensorFlow (what ``fit.steps_per_execution: auto`` chose)."""
    metrics: tuple[str, ...] = ()
    started_t: float | None = None
    last_t: float | None = None
    epoch_started_t: float | None = None
    paused_s: float = 0.0
    paused_at: float | None = None
    samples_per_s: float | None = None
    epoch_durations: tuple[float, ...] = ()
    batch_logs: dict[str, float] = field(default_factory=dict)
    learning_rate: float | None = None
    history: dict[str, tuple[Point, ...]] = field(default_factory=dict)
    """Epoch-level curves by log key (loss, val_loss, accuracy …): (epoch, value)."""
    batch: dict[str, tuple[Point, ...]] = field(default_factory=dict)
    """Batch-level training curves by log key: (fractional epoch, value), bounded."""
    lr: tuple[Point, ...] = ()
    """Learning rate over (fractional) epochs, bounded."""
    log: tuple[LogLine, ...] = ()
    best: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    checkpoints: int = 0
    checkpoint_at: tuple[float, ...] = ()
    """Where each manual checkpoint was written, in fractional epochs (the loss chart marks them); the newest kept."""
    model_path: str | None = None
    duration_s: float | None = None
    """The run's training time as the engine reported it at the end (``run_ended``)."""

    # ------------------------------------------------------------ derived values
    @property
    def active(self) -> bool:
        """True while the run can still take commands.

        The states of ``engine.runs.LIVE_STATES``, spelled here because this module must
        stay light (``engine.runs`` brings pydantic, which the first frame does without).
        """
        return self.status in ("starting", "running", "paused", "stopping")

    @property
    def elapsed_s(self) -> float | None:
        """Training time up to the latest event, pauses left out (held still while paused)."""
        if self.duration_s is not None:
            return self.duration_s
        if self.started_t is None or self.last_t is None:
            return None
        return self.training_time(self.last_t)

    def training_time(self, t: float) -> float:
        """Seconds of training from the run's start to time ``t`` (a ``time.time()``), pauses left out."""
        if self.started_t is None:
            return 0.0
        until = min(t, self.paused_at) if self.paused_at is not None else t
        return max(0.0, until - self.started_t - self.paused_s)

    @property
    def epoch_fraction(self) -> float:
        """Progress through the current epoch, 0..1."""
        if not self.steps:
            return 0.0
        return min(1.0, self.step / self.steps)

    @property
    def position(self) -> float:
        """Fractional epoch of the latest batch, the x axis of batch-level charts."""
        return self.epoch + self.epoch_fraction

    @property
    def eta_epoch_s(self) -> float | None:
        if not self.steps or self.epoch_started_t is None or self.last_t is None or self.step <= 0:
            return None
        spent = self.last_t - self.epoch_started_t
        return spent / self.step * (self.steps - self.step)

    @property
    def eta_run_s(self) -> float | None:
        if not self.epochs:
            return None
        per_epoch = None
        if self.epoch_durations:
            recent = self.epoch_durations[-5:]
            per_epoch = sum(recent) / len(recent)
        left_this = self.eta_epoch_s
        if per_epoch is None:
            if left_this is None or not self.steps or self.step <= 0:
                return None
            per_epoch = (self.last_t - self.epoch_started_t) / self.step * self.steps  # type: ignore[operator]
        remaining = max(0, self.epochs - self.epoch - 1)
        return (left_this or 0.0) + remaining * per_epoch


MARKS_CAP = 100
"""Manual checkpoints marked on the loss chart, at most (the newest)."""


def _at(state: DashState, event: ev.Event) -> float:
    return state.training_time(event.t)


def _log(state: DashState, event: ev.Event, kind: str, text: str) -> tuple[LogLine, ...]:
    lines = state.log + (LogLine(_at(state, event), kind, text),)
    return lines[-LOG_CAP:]


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}"


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _run_started(s: DashState, event: ev.RunStarted) -> DashState:
    if s.run_id is not None and s.run_id == event.run_id and event.initial_epoch > 0:
        return _run_continued(s, event)
    s = DashState(
        status="running",
        run_id=event.run_id,
        run_dir=event.run_dir,
        name=event.name,
        epochs=event.epochs,
        epoch=event.initial_epoch,
        steps=event.steps_per_epoch,
        batch_size=event.batch_size,
        train_samples=event.train_samples,
        params=event.params,
        device=event.device,
        strategy=event.strategy,
        replicas=event.replicas,
        workers=event.workers,
        steps_per_execution=event.steps_per_execution,
        metrics=tuple(event.metrics),
        started_t=event.t,
        last_t=event.t,
        learning_rate=event.learning_rate,
    )
    if event.learning_rate is not None:
        s = replace(s, lr=((float(event.initial_epoch), event.learning_rate),))
    return replace(s, log=_log(s, event, "info", f"run {event.run_id} started: {event.epochs} epochs, {event.params:,} params"))


def _run_continued(s: DashState, event: ev.RunStarted) -> DashState:
    """A resumed run's next segment (``kwb resume``: the same run id, a later ``initial_epoch``) continues the one before.

    The curves, log and checkpoint marks stay; points past ``initial_epoch`` go (those
    epochs run again from the backup); the clock goes on from the training time already
    shown, so the log's times and "elapsed" count the whole run, not the gap between processes.
    """
    start = float(event.initial_epoch)
    keep = lambda series: tuple(p for p in series if p[0] <= start)  # noqa: E731
    before = s.training_time(s.last_t) if s.last_t is not None else 0.0
    fresh = _run_started(DashState(), event)
    s = replace(
        fresh,
        started_t=event.t - before,
        history={k: kept for k, v in s.history.items() if (kept := keep(v))},
        batch={k: kept for k, v in s.batch.items() if (kept := keep(v))},
        lr=keep(s.lr) + fresh.lr,
        checkpoints=s.checkpoints,
        checkpoint_at=tuple(x for x in s.checkpoint_at if x <= start),
        epoch_durations=s.epoch_durations,
        log=s.log,  # the engine logs "resumed from epoch N" itself
    )
    return s


def _epoch_started(s: DashState, event: ev.EpochStarted) -> DashState:
    return replace(s, epoch=event.epoch, epochs=event.epochs or s.epochs, step=0, epoch_started_t=event.t,
                   steps_per_execution=event.steps_per_execution or s.steps_per_execution)


def _batch(s: DashState, event: ev.Batch) -> DashState:
    s = replace(s, epoch=event.epoch, step=event.step, steps=event.steps or s.steps, batch_logs=dict(event.logs))
    if event.samples_per_s is not None:
        s = replace(s, samples_per_s=event.samples_per_s)
    curves = dict(s.batch)
    for key, value in event.logs.items():
        if _finite(value) and key not in _LR_KEYS:
            curves[key] = append_point(curves.get(key, ()), (s.position, float(value)))
    return replace(s, batch=curves)


def _epoch_ended(s: DashState, event: ev.EpochEnded) -> DashState:
    history = dict(s.history)
    x = float(event.epoch + 1)
    for key, value in event.logs.items():
        if key not in _LR_KEYS and _finite(value):
            history[key] = append_point(history.get(key, ()), (x, float(value)))
    lr = event.learning_rate if event.learning_rate is not None else event.logs.get("learning_rate")
    series = s.lr
    if _finite(lr):
        series = append_point(series, (x, float(lr)))  # type: ignore[arg-type]
    durations = (s.epoch_durations + (event.duration_s,))[-20:] if event.duration_s else s.epoch_durations
    s = replace(
        s,
        epoch=event.epoch + 1,
        step=s.steps or s.step,
        history=history,
        lr=series,
        learning_rate=lr if _finite(lr) else s.learning_rate,
        epoch_durations=durations,
    )
    logs = {k: v for k, v in event.logs.items() if k not in _LR_KEYS}
    if output_names(logs):  # several outputs: the totals first, not sorted in among the outputs' keys
        logs = {k: logs[k] for k in sorted(logs, key=lambda k: bare(k) != "loss")}
    parts = " ".join(f"{k}={_fmt(v)}" for k, v in logs.items())
    return replace(s, log=_log(s, event, "info", f"epoch {event.epoch + 1}: {parts}"))


def _lr_changed(s: DashState, event: ev.LrChanged) -> DashState:
    x = float(event.epoch + (s.epoch_fraction if event.step is not None else 0)) if event.epoch is not None else s.position
    s = replace(s, learning_rate=event.new, lr=append_point(s.lr, (x, event.new)))
    return replace(s, log=_log(s, event, "lr", f"learning rate {_fmt(event.old)} → {_fmt(event.new)} ({event.source})"))


def _checkpoint_saved(s: DashState, event: ev.CheckpointSaved) -> DashState:
    s = replace(s, checkpoints=s.checkpoints + 1)
    if event.kind == "manual":
        if event.epoch is None:
            x = s.position
        else:
            x = event.epoch + (min(1.0, event.step / s.steps) if event.step is not None and s.steps else 0.5)
        s = replace(s, checkpoint_at=(s.checkpoint_at + (float(x),))[-MARKS_CAP:])
    where = f" at epoch {event.epoch + 1}" if event.epoch is not None else ""
    return replace(s, log=_log(s, event, "checkpoint", f"{event.kind} checkpoint{where}: {_short_path(event.path)}"))


def _paused(s: DashState, event: ev.Paused) -> DashState:
    s = replace(s, status="paused", paused_at=event.t, epoch=event.epoch, step=event.step)  # where it stopped, exactly
    return replace(s, log=_log(s, event, "pause", f"paused at epoch {event.epoch + 1}, step {event.step}"))


def _resumed(s: DashState, event: ev.Resumed) -> DashState:
    status = "running" if s.status == "paused" else s.status
    paused = event.paused_s or (max(0.0, event.t - s.paused_at) if s.paused_at is not None else 0.0)
    s = replace(s, status=status, paused_at=None, paused_s=s.paused_s + paused,
                epoch_started_t=(s.epoch_started_t + paused) if s.epoch_started_t is not None else None)  # fmt: skip
    return replace(s, log=_log(s, event, "pause", f"resumed after {event.paused_s:.1f}s"))


def _stopping(s: DashState, event: ev.Stopping) -> DashState:
    s = replace(s, status="stopping")
    return replace(s, log=_log(s, event, "stop", f"stopping: {event.reason}"))


def process_gone(s: DashState, status: str = "died") -> ev.RunEnded:
    """The end a run never wrote because its process was killed: what the dashboard folds instead of
    showing it running (``kwb attach`` when the process goes, the Runs screen on opening it)."""
    return ev.RunEnded(status=status, epochs_completed=s.epoch, reason="its process is gone",
                       **({"t": s.last_t} if s.last_t is not None else {}))  # fmt: skip


def _run_ended(s: DashState, event: ev.RunEnded) -> DashState:
    s = replace(s, status=event.status, best=dict(event.best), model_path=event.model_path,
                epoch=max(s.epoch, event.epochs_completed), duration_s=event.duration_s or None)  # fmt: skip
    # Several outputs: the total loss and each output's metrics, not every key of every output.
    picked = headline(event.best) if output_names(event.best) else event.best
    best = " ".join(f"{k}={_fmt(v)}" for k, v in picked.items())
    tail = f" — best {best}" if best else ""
    why = f" ({event.reason})" if event.reason else ""
    kind = "error" if event.status == "failed" else "end"
    text = f"run {event.status}{why} after {counted(event.epochs_completed, 'epoch')} in {format_duration(s.elapsed_s)}{tail}"
    return replace(s, log=_log(s, event, kind, text))


FAILURE_ROWS = 4
"""Most log rows a failure's message takes (engine.diagnose keeps it to a cause, a hint and a path)."""


def _error(s: DashState, event: ev.Error) -> DashState:
    if event.fatal:
        s = replace(s, error=event.message)
    label = f"{event.command} refused: " if event.command else ("error: " if event.fatal else "warning: ")
    if not event.fatal:
        text = label + event.message.strip().splitlines()[-1] if event.message.strip() else label
        return replace(s, log=_log(s, event, "error", text))
    # A run's failure is its cause, what to change and where the traceback is: a row each.
    lines = [line.strip() for line in event.message.splitlines() if line.strip()][:FAILURE_ROWS] or [""]
    for i, line in enumerate(lines):
        s = replace(s, log=_log(s, event, "error", (label if i == 0 else "  ") + line))
    return s


def _log_line(s: DashState, event: ev.Log) -> DashState:
    kind = "error" if event.level in ("error", "warning") else "info"
    return replace(s, log=_log(s, event, kind, event.message))


_LR_KEYS = ("learning_rate", "lr")
"""Log keys that hold the learning rate: charted as the LR curve, not as a metric."""

_REDUCERS: dict[type[ev.Event], Callable[[DashState, Any], DashState]] = {
    ev.RunStarted: _run_started,
    ev.EpochStarted: _epoch_started,
    ev.Batch: _batch,
    ev.EpochEnded: _epoch_ended,
    ev.LrChanged: _lr_changed,
    ev.CheckpointSaved: _checkpoint_saved,
    ev.Paused: _paused,
    ev.Resumed: _resumed,
    ev.Stopping: _stopping,
    ev.RunEnded: _run_ended,
    ev.Error: _error,
    ev.Log: _log_line,
}
"""Event type -> the pure function that folds it into the state; other events only move the clock."""


def reduce(state: DashState, event: ev.Event) -> DashState:
    """The state after ``event``. Pure: ``state`` is not changed."""
    if isinstance(event, ev.RunStarted):
        return _run_started(state, event)  # sets its own clock; a resumed segment reads where the last one ended
    s = replace(state, last_t=event.t)
    handler = _REDUCERS.get(type(event))
    return handler(s, event) if handler is not None else s


def _short_path(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-2:])


def replay(events: Iterable[ev.Event], state: DashState | None = None) -> DashState:
    """Fold ``events`` into a state (a recorded run, or the backlog of an attached one)."""
    s = state or DashState()
    for event in events:
        s = reduce(s, event)
    return s
