"""The configured Keras callbacks of a run, around the bridge: schedules, plateau, early stop, checkpoints, logs."""

from __future__ import annotations

import math
from typing import Any, Callable

from engine import events as ev
from engine.callbacks.monitor import metric_direction
from engine.config import RunConfig
from engine.control import EventSink
from engine.errors import suggest
from engine.runs import RunDir

__all__ = ["schedule_fn", "make_callbacks"]


def schedule_fn(cfg: RunConfig) -> Callable[[int], float] | None:
    """The configured ``callbacks.lr_schedule`` as a function of the epoch, or None when there is none."""
    sched = cfg.callbacks.lr_schedule
    if sched is None:
        return None
    if sched.step_decay:
        s = sched.step_decay
        return lambda e: s.initial * s.drop ** math.floor((1 + e) / s.every)
    if sched.exponential:
        x = sched.exponential
        return lambda e: x.initial * x.rate**e
    if sched.cosine:
        c = sched.cosine
        span = c.epochs or cfg.fit.epochs

        def cosine(e: int) -> float:
            if e < c.warmup_epochs:
                return c.initial * (e + 1) / c.warmup_epochs
            progress = min(1.0, (e - c.warmup_epochs) / max(1, span - c.warmup_epochs))
            return c.initial * ((1 - c.alpha) * 0.5 * (1 + math.cos(math.pi * progress)) + c.alpha)

        return cosine
    p = sched.piecewise
    assert p is not None

    def piecewise(e: int) -> float:
        for boundary, value in zip(p.boundaries, p.values):
            if e < boundary:
                return value
        return p.values[-1]

    return piecewise


def _check_monitor(sink: EventSink, names: list[str], key: str, monitor: str) -> None:
    """Warn (an event, not an error: training goes on) when ``callbacks.<key>.monitor`` is not logged."""
    if monitor not in names:
        sink.emit(
            ev.Log(
                level="warning",
                message=f"callbacks.{key}.monitor: {monitor!r} is not a metric of this run"
                f"{suggest(monitor, names)}; available: {', '.join(names)}",
            )
        )


def _mode_for(names: list[str], monitor: str, mode: str) -> str:
    """The mode to hand a Keras monitor callback: its own "auto" unless it could not resolve it.

    For a metric the run does not log, Keras' "auto" raises after the first epoch; the
    warning above promises training goes on, so the direction is chosen here, by name
    (the model cannot be asked about a metric it does not have).
    """
    if mode != "auto" or monitor in names:
        return mode
    return metric_direction(None, monitor)


def make_callbacks(cfg: RunConfig, run: RunDir, bridge: Any, sink: EventSink, names: list[str]) -> list[Any]:
    """The run's callbacks in order: the bridge first, the configured ones, ``LrWatch`` last.

    Args:
        cfg: the run's config (its ``callbacks`` section).
        run: the run directory (checkpoints, history.csv, backup, tensorboard).
        bridge: the run's ``Bridge``.
        sink: where warnings about monitored metrics and checkpoint events go.
        names: the metric names the run will log, to check each ``monitor`` against.
    """
    from engine.callbacks.checkpoint import BestCheckpoint
    from engine.callbacks.nan import QuietTerminateOnNaN
    from engine.callbacks.schedule import EpochSchedule, LrWatch
    from engine.kerasapi import keras as keras_module, legacy

    keras = keras_module()

    cb = cfg.callbacks
    out: list[Any] = [bridge]

    fn = schedule_fn(cfg)
    if fn is not None:
        out.append(EpochSchedule(fn, bridge))
    if cb.reduce_lr_on_plateau:
        r = cb.reduce_lr_on_plateau
        _check_monitor(sink, names, "reduce_lr_on_plateau", r.monitor)
        out.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=r.monitor, factor=r.factor, patience=r.patience, min_lr=r.min_lr,
                mode=_mode_for(names, r.monitor, r.mode), min_delta=r.min_delta, cooldown=r.cooldown, verbose=0,
            )
        )  # fmt: skip
    if cb.early_stopping:
        e = cb.early_stopping
        _check_monitor(sink, names, "early_stopping", e.monitor)
        out.append(
            keras.callbacks.EarlyStopping(
                monitor=e.monitor, patience=e.patience, min_delta=e.min_delta, mode=_mode_for(names, e.monitor, e.mode),
                restore_best_weights=e.restore_best_weights, start_from_epoch=e.start_from_epoch, verbose=0,
            )
        )  # fmt: skip
    if cb.terminate_on_nan:
        out.append(QuietTerminateOnNaN())
    if cb.model_checkpoint:
        m = cb.model_checkpoint
        if m.save_best_only:
            _check_monitor(sink, names, "model_checkpoint", m.monitor)
        out.append(BestCheckpoint(run.checkpoints, m.monitor, m.mode, m.save_best_only, sink))
    if cb.csv_logger:
        out.append(keras.callbacks.CSVLogger(str(run.history), append=True))
    if cb.backup_and_restore:
        # Keras 3: weights and epoch committed together by rename (a kill or full disk cannot tear them).
        from engine.callbacks.checkpoint import AtomicBackupAndRestore

        legacy_backup = keras.callbacks.BackupAndRestore(str(run.backup), delete_checkpoint=False) if legacy() else None
        out.append(legacy_backup or AtomicBackupAndRestore(run.backup))
    if cb.tensorboard:
        t = cb.tensorboard
        out.append(
            keras.callbacks.TensorBoard(str(run.tensorboard), update_freq=t.update_freq, histogram_freq=t.histogram_freq)
        )
    source = "schedule" if fn is not None else "plateau"
    out.append(LrWatch(bridge, source))
    return out
