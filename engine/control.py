"""The command vocabulary into a training run, and the sinks events go out through.

``CommandName`` is the one list of commands; ``ControlVerb`` spells each the way
``kwb control`` takes it; ``Command.acknowledged_by`` is the one place that knows
which event answers which command. ``Control`` is what the training thread polls at every batch boundary: a plain
attribute read (``control.pending``) when nothing is queued, so the hot path stays
O(1). Anyone may ``send`` from any thread; the UI, a signal handler and the
run-directory watcher all use the same object.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol

from engine import events as ev

__all__ = [
    "Command",
    "CommandName",
    "ControlVerb",
    "COMMANDS",
    "CommandError",
    "CommandVerbs",
    "Control",
    "EventSink",
    "QueueSink",
    "JsonlSink",
    "CallbackSink",
    "FanoutSink",
    "parse_command",
]

class CommandName(str, enum.Enum):
    """Every command a run understands. A ``str``, so command files and events carry the plain word."""

    STOP = "stop"
    LR_SCALE = "lr_scale"
    SET_LR = "set_lr"
    CHECKPOINT = "checkpoint"
    PAUSE = "pause"
    RESUME = "resume"

    def __str__(self) -> str:
        return self.value

    @property
    def takes_value(self) -> bool:
        """True for the two that carry a positive number: the factor (lr_scale) and the rate (set_lr)."""
        return self in (CommandName.LR_SCALE, CommandName.SET_LR)


COMMANDS: tuple[str, ...] = tuple(name.value for name in CommandName)
"""Every command word, in ``CommandName`` order (for messages that list them)."""


class ControlVerb(str, enum.Enum):
    """The words ``kwb control RUN VERB`` takes, in the order its help lists them, each with its command."""

    command: CommandName
    """The command this word sends."""

    def __new__(cls, verb: str, command: CommandName) -> "ControlVerb":
        member = str.__new__(cls, verb)
        member._value_ = verb
        member.command = command
        return member

    STOP = ("stop", CommandName.STOP)
    PAUSE = ("pause", CommandName.PAUSE)
    RESUME = ("resume", CommandName.RESUME)
    CHECKPOINT = ("checkpoint", CommandName.CHECKPOINT)
    LR_DROP = ("lr-drop", CommandName.LR_SCALE)
    SET_LR = ("set-lr", CommandName.SET_LR)

    def __str__(self) -> str:
        return self.value


class CommandError(ValueError):
    """A command that is not in the vocabulary or has a bad argument."""


def _lr_ack(cmd: "Command", event: ev.Event) -> bool:
    # The source tells a command's change from a schedule's; the numbers tell this client's from
    # another client's sent at the same moment (set_lr: the new rate; lr_scale: new / old).
    if not (isinstance(event, ev.LrChanged) and event.source == cmd.source) or cmd.value is None:
        return False
    if cmd.name is CommandName.SET_LR:
        return math.isclose(event.new, cmd.value, rel_tol=1e-4)
    return event.old > 0 and math.isclose(event.new / event.old, cmd.value, rel_tol=1e-4)


ACKNOWLEDGED_BY: dict[CommandName, Callable[["Command", ev.Event], bool]] = {
    CommandName.STOP: lambda cmd, event: isinstance(event, (ev.Stopping, ev.RunEnded)),
    CommandName.LR_SCALE: _lr_ack,
    CommandName.SET_LR: _lr_ack,
    CommandName.CHECKPOINT: lambda cmd, event: isinstance(event, ev.CheckpointSaved) and event.kind == "manual",
    CommandName.PAUSE: lambda cmd, event: isinstance(event, ev.Paused),
    CommandName.RESUME: lambda cmd, event: isinstance(event, ev.Resumed),
}
"""For each command, whether an event acknowledges it (a refusal is an ``error`` event naming it)."""


@dataclass(frozen=True)
class Command:
    """One command. ``value`` is the factor for lr_scale and the rate for set_lr.

    ``name`` may be given as the plain word; it is kept as a ``CommandName``.
    """

    name: CommandName
    value: float | None = None
    source: str = "user"
    id: str | None = None

    def __post_init__(self) -> None:
        try:
            name = CommandName(self.name)
        except ValueError:
            raise CommandError(f"unknown command {self.name!r}; expected one of {', '.join(COMMANDS)}") from None
        object.__setattr__(self, "name", name)
        if name.takes_value:
            if self.value is None or not isinstance(self.value, (int, float)) or not self.value > 0:
                raise CommandError(f"{name} needs a positive number, got {self.value!r}")
            if self.value != self.value or self.value == float("inf"):
                raise CommandError(f"{name} needs a finite number, got {self.value!r}")

    def acknowledged_by(self, event: ev.Event) -> bool:
        """True if ``event`` is this command's acknowledgement."""
        return ACKNOWLEDGED_BY[self.name](self, event)

    def refused_by(self, event: ev.Event) -> bool:
        """True if ``event`` is the run refusing this command."""
        return isinstance(event, ev.Error) and event.command == self.name

    def to_json(self) -> str:
        return json.dumps({**dataclasses.asdict(self), "name": self.name.value})


def parse_command(text: str | bytes) -> Command:
    """Decode a command file's JSON. Raises ``CommandError`` with a reason."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"command is not JSON: {exc}") from None
    if not isinstance(raw, dict) or "name" not in raw:
        raise CommandError("command must be a JSON object with a 'name'")
    known = {f.name for f in dataclasses.fields(Command)}
    return Command(**{k: v for k, v in raw.items() if k in known})


class CommandVerbs:
    """The command API as verbs, for anything with ``send(name, value)`` (in-process or run directory)."""

    def send(self, command: "Command | str", value: float | None = None, source: str = "user") -> Command:
        raise NotImplementedError

    def stop(self) -> Command:
        return self.send(CommandName.STOP)

    def lr_scale(self, factor: float) -> Command:
        return self.send(CommandName.LR_SCALE, factor)

    def set_lr(self, value: float) -> Command:
        return self.send(CommandName.SET_LR, value)

    def checkpoint(self) -> Command:
        return self.send(CommandName.CHECKPOINT)

    def pause(self) -> Command:
        return self.send(CommandName.PAUSE)

    def resume(self) -> Command:
        return self.send(CommandName.RESUME)


class Control(CommandVerbs):
    """Thread-safe command inbox polled by the bridge.

    ``pending`` is True while commands wait; the bridge reads it once per batch and
    only takes the lock when it is set. ``wait`` lets a paused training thread sleep
    until the next command arrives.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: collections.deque[Command] = collections.deque()
        self._wakeup = threading.Event()
        self.pending = False
        """True while at least one command is queued. Read without the lock."""

    def send(self, command: Command | str, value: float | None = None, source: str = "user") -> Command:
        if isinstance(command, str):
            command = Command(command, value, source=source)
        with self._lock:
            self._queue.append(command)
            self.pending = True
        self._wakeup.set()
        return command

    def drain(self) -> list[Command]:
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
            self.pending = False
            self._wakeup.clear()
        return items

    def wait(self, timeout: float) -> bool:
        """Block until a command arrives or ``timeout`` passes; True if one is pending."""
        self._wakeup.wait(timeout)
        return self.pending


class EventSink(Protocol):
    """Anything events can be handed to. ``emit`` is called on the training thread."""

    def emit(self, event: ev.Event) -> None: ...


class QueueSink:
    """In-process transport: the app reads ``queue`` on its own loop."""

    def __init__(self, q: "queue.SimpleQueue[ev.Event] | None" = None) -> None:
        self.queue: queue.SimpleQueue[ev.Event] = q if q is not None else queue.SimpleQueue()

    def emit(self, event: ev.Event) -> None:
        self.queue.put(event)


class CallbackSink:
    """Calls a function with each event (tests, the headless printer)."""

    def __init__(self, fn: Callable[[ev.Event], None]) -> None:
        self._fn = fn

    def emit(self, event: ev.Event) -> None:
        self._fn(event)


class FanoutSink:
    """Hands each event to several sinks, in order."""

    def __init__(self, sinks: Iterable[EventSink]) -> None:
        self.sinks = [s for s in sinks if s is not None]

    def emit(self, event: ev.Event) -> None:
        for sink in self.sinks:
            sink.emit(event)


_FLUSH_NOW = (
    ev.EpochEnded,
    ev.LrChanged,
    ev.CheckpointSaved,
    ev.Paused,
    ev.Resumed,
    ev.Stopping,
    ev.RunEnded,
    ev.Error,
    ev.RunStarted,
)


class JsonlSink:
    """Run-directory transport: appends events to ``events.jsonl``.

    Lines are flushed at every epoch end and every command acknowledgement, and
    otherwise at most once a second, so a reader tailing the file sees live
    progress without an fsync per batch.
    """

    def __init__(self, path: str | os.PathLike[str], flush_interval: float = 1.0) -> None:
        self.path = Path(path)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._flush_interval = flush_interval
        self._last_flush = time.monotonic()

    def emit(self, event: ev.Event) -> None:
        line = ev.encode(event) + "\n"
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line)
            now = time.monotonic()
            if isinstance(event, _FLUSH_NOW) or now - self._last_flush >= self._flush_interval:
                self._file.flush()
                self._last_flush = now

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
