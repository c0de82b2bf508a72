"""A run's recorded events made whole: events.jsonl, with the epochs only history.csv kept and the end only status.json kept.

events.jsonl is what a dashboard replays, but it is the file most exposed to damage: a
copy cut off half-way, a disk that filled, a process killed between two writes. The run's
other files still hold the rest: history.csv one row per epoch (written by Keras'
CSVLogger) and status.json the run's final state, best values and training time. For a
run that is over, :func:`whole_events` adds what the events lack from those, so a replay
draws every epoch and says how the run ended, not "running" at the cut. A live run's events
are left as they are (its end has not happened yet).

Who owns what: ``engine.runs`` reads each file tolerantly; this module only decides what
to add; ``tui.state`` folds the result like any recorded stream.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine import events as ev
from engine.runs import (
    LIVE_STATES,
    effective_state,
    read_events,
    read_history,
    read_status,
    training_seconds,
)

__all__ = ["ENDED_STATES", "whole_events"]

ENDED_STATES = ("finished", "stopped", "failed")
"""States status.json records for a run whose process ended and said how."""

_LR_KEYS = ("learning_rate", "lr")


def whole_events(path: str | os.PathLike[str], events: list[ev.Event] | None = None) -> list[ev.Event]:
    """The run's events (``events``, else its events.jsonl read now), completed from history.csv and status.json once the run is over.

    Epochs history.csv has after the last one the events recorded come as ``epoch_ended``
    events; a ``run_ended`` from status.json closes a stream that lacks one (a
    finished, stopped or failed run). Added events carry the time of the last recorded
    one, so no clock jumps. A run still live, or one whose status.json cannot be read, is
    returned unchanged.
    """
    events = list(read_events(path) if events is None else events)
    status = read_status(path) or {}
    state = effective_state(status)
    if not status or state in LIVE_STATES:
        return events
    t = events[-1].t if events else None
    stamp: dict[str, Any] = {"t": t} if t is not None else {}
    ended = next((i for i, e in enumerate(events) if isinstance(e, ev.RunEnded)
                  and not any(isinstance(later, ev.RunStarted) for later in events[i:])), None)  # fmt: skip
    recorded = {e.epoch for e in events if isinstance(e, ev.EpochEnded)}
    last = max(recorded, default=-1)
    missing = [row for row in read_history(path) if isinstance(row.get("epoch"), int) and row["epoch"] > last]
    added: list[ev.Event] = [_epoch(row, stamp) for row in missing]
    # An emptied events.jsonl lost its run_started too: without one the dashboard says "no run yet".
    start = [] if any(isinstance(e, ev.RunStarted) for e in events) else [_start(path, status, stamp)]
    if ended is not None:
        return start + events[:ended] + added + events[ended:]
    if state in ENDED_STATES:
        added.append(_end(status, state, max(last + 1, missing[-1]["epoch"] + 1 if missing else 0), stamp))
    return start + events + added


def _start(path: str | os.PathLike[str], status: dict[str, Any], stamp: dict[str, Any]) -> ev.RunStarted:
    """The ``run_started`` status.json implies: the run's id (its folder), name and epochs."""
    name, epochs = status.get("name"), status.get("epochs")
    return ev.RunStarted(
        run_id=Path(path).name, run_dir=str(path), name=name if isinstance(name, str) else Path(path).name,
        epochs=epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else 0, **stamp,
    )  # fmt: skip


def _epoch(row: dict[str, float], stamp: dict[str, Any]) -> ev.EpochEnded:
    logs = {k: float(v) for k, v in row.items() if k != "epoch" and k not in _LR_KEYS}
    lr = next((float(row[k]) for k in _LR_KEYS if k in row), None)
    return ev.EpochEnded(epoch=int(row["epoch"]), logs=logs, learning_rate=lr, **stamp)


def _end(status: dict[str, Any], state: str, epochs: int, stamp: dict[str, Any]) -> ev.RunEnded:
    """The ``run_ended`` status.json implies: its state, epochs, best values, training time and model."""
    best = status.get("best")
    done = status.get("epochs_done")
    reason = status.get("reason")
    return ev.RunEnded(
        status=state,
        epochs_completed=max(epochs, done if isinstance(done, int) and not isinstance(done, bool) else 0),
        duration_s=training_seconds(status) or 0.0,
        model_path=status.get("model") if isinstance(status.get("model"), str) else None,
        best={k: float(v) for k, v in best.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if isinstance(best, dict) else {},
        reason=reason if isinstance(reason, str) else None,
        **stamp,
    )  # fmt: skip
