"""The event vocabulary that comes out of a training run, and its JSON-lines codec.

Every event is a small frozen dataclass with a ``type`` tag and a wall-clock
timestamp ``t``. The same objects travel through the in-process queue (the app)
and, encoded one per line, through ``runs/<id>/events.jsonl`` (headless runs,
``kwb attach``). ``decode(encode(e)) == e`` for every event.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "Event",
    "RunStarted",
    "EpochStarted",
    "Batch",
    "EpochEnded",
    "LrChanged",
    "CheckpointSaved",
    "Paused",
    "Resumed",
    "Stopping",
    "RunEnded",
    "Error",
    "Log",
    "EVENT_TYPES",
    "encode",
    "decode",
    "DecodeError",
]


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Event:
    """Base class: ``type`` names the event on the wire, ``t`` is ``time.time()``."""

    type: ClassVar[str] = "event"
    t: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class RunStarted(Event):
    """Training is about to call ``fit``; everything a dashboard needs to lay itself out."""

    type: ClassVar[str] = "run_started"
    run_id: str
    run_dir: str | None
    name: str
    epochs: int
    initial_epoch: int = 0
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    train_samples: int | None = None
    val_samples: int | None = None
    params: int = 0
    metrics: tuple[str, ...] = ()
    learning_rate: float | None = None
    strategy: str = "default"
    replicas: int = 1
    device: str = "cpu"
    worker: int = 0
    """multi_worker: this process's worker index (0 is the chief); else 0."""
    workers: int = 1
    steps_per_execution: int = 1
    """Training steps per call into TensorFlow (``fit.steps_per_execution``, or what ``auto`` chose)."""


@dataclass(frozen=True)
class EpochStarted(Event):
    type: ClassVar[str] = "epoch_started"
    epoch: int
    epochs: int
    steps_per_execution: int | None = None
    """Training steps per call into TensorFlow in this epoch (``auto`` may re-tune it once); None when not known."""


@dataclass(frozen=True)
class Batch(Event):
    """Throttled progress inside an epoch: at most one every ~100 ms."""

    type: ClassVar[str] = "batch"
    epoch: int
    step: int
    steps: int | None
    logs: dict[str, float]
    samples_per_s: float | None = None


@dataclass(frozen=True)
class EpochEnded(Event):
    """Full epoch logs: train and validation metrics and the learning rate."""

    type: ClassVar[str] = "epoch_ended"
    epoch: int
    logs: dict[str, float]
    learning_rate: float | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class LrChanged(Event):
    """The optimizer's learning rate changed; ``source`` is user, schedule, plateau, or resume (the rate
    a resumed run's backup restored, in place of the config's)."""

    type: ClassVar[str] = "lr_changed"
    old: float
    new: float
    source: str = "user"
    epoch: int | None = None
    step: int | None = None


@dataclass(frozen=True)
class CheckpointSaved(Event):
    """A consistent ``.keras`` file is on disk; ``kind`` is manual, best or epoch."""

    type: ClassVar[str] = "checkpoint_saved"
    path: str
    kind: str = "manual"
    epoch: int | None = None
    step: int | None = None


@dataclass(frozen=True)
class Paused(Event):
    type: ClassVar[str] = "paused"
    epoch: int
    step: int


@dataclass(frozen=True)
class Resumed(Event):
    type: ClassVar[str] = "resumed"
    epoch: int
    step: int
    paused_s: float = 0.0


@dataclass(frozen=True)
class Stopping(Event):
    """Training will stop at this batch boundary; ``reason`` says who asked."""

    type: ClassVar[str] = "stopping"
    reason: str
    epoch: int | None = None
    step: int | None = None


@dataclass(frozen=True)
class RunEnded(Event):
    """The last event of every run. ``status`` is finished, stopped or failed."""

    type: ClassVar[str] = "run_ended"
    status: str
    epochs_completed: int = 0
    duration_s: float = 0.0
    model_path: str | None = None
    best: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class Error(Event):
    """A failure (``fatal``) or a refused command (``command`` names it)."""

    type: ClassVar[str] = "error"
    message: str
    command: str | None = None
    fatal: bool = False
    traceback: str | None = None


@dataclass(frozen=True)
class Log(Event):
    type: ClassVar[str] = "log"
    message: str
    level: str = "info"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        RunStarted,
        EpochStarted,
        Batch,
        EpochEnded,
        LrChanged,
        CheckpointSaved,
        Paused,
        Resumed,
        Stopping,
        RunEnded,
        Error,
        Log,
    )
}


class DecodeError(ValueError):
    """A line of events.jsonl that is not an event of this vocabulary."""


def _clean(value: Any) -> Any:
    # JSON has no NaN/Infinity; write them as strings so the file stays strict JSON.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def to_dict(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": event.type}
    for f in dataclasses.fields(event):
        out[f.name] = _clean(getattr(event, f.name))
    return out


def encode(event: Event) -> str:
    """One JSON line (no trailing newline)."""
    return json.dumps(to_dict(event), separators=(",", ":"), allow_nan=False)


def _unclean_float(value: Any) -> Any:
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return value


def decode(line: str | bytes) -> Event:
    """Parse one line of events.jsonl. Unknown fields are ignored (forward compatible)."""
    try:
        raw = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # bytes: json guesses UTF-16/32 from a BOM
        raise DecodeError(f"not JSON: {exc}") from None
    except RecursionError:  # a garbage line of thousands of nested brackets
        raise DecodeError("not JSON: nested too deeply") from None
    if not isinstance(raw, dict) or "type" not in raw:
        raise DecodeError("an event must be a JSON object with a 'type' field")
    cls = EVENT_TYPES.get(raw["type"])
    if cls is None:
        raise DecodeError(f"unknown event type {raw['type']!r}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        # Only number fields can hold the "nan"/"inf" strings _clean wrote; a name,
        # message or reason that reads "nan" (RunEnded.reason is "nan") stays a string.
        numeric = "float" in str(f.type)
        if isinstance(value, dict):
            value = {k: _unclean_float(v) for k, v in value.items()} if numeric else value
        elif isinstance(value, list):
            value = tuple(value)
        elif numeric:
            value = _unclean_float(value)
        kwargs[f.name] = value
    hints = _hints(cls)
    for name, value in kwargs.items():
        if not _fits(value, hints.get(name, Any)):
            raise DecodeError(f"{raw['type']}: {name} has the wrong type ({type(value).__name__})")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise DecodeError(f"{raw['type']}: {exc}") from None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fits(value: Any, hint: Any) -> bool:
    """Whether a decoded JSON value has the field's declared type (a damaged line must not reach a reducer)."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is dict or hint is dict:
        args = typing.get_args(hint)
        return isinstance(value, dict) and (not args or all(_fits(v, args[1]) for v in value.values()))
    if origin is tuple or hint is tuple:
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return isinstance(value, tuple) and (not args or all(_fits(v, args[0]) for v in value))
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True
