"""Control a run from another process: check it is alive, drop a command in its control/ folder, wait for the answer.

``deliver`` is the one "may this run be controlled" check, shared by ``kwb control``
(``send_and_wait``) and an attached viewer; ``lr_factor_of`` is the one reader of a
run's ``controls.lr_factor``. Which event acknowledges which command is known by
``engine.control.Command.acknowledged_by``; this module only words the answer.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import yaml

from engine import events as ev
from engine.control import Command, CommandError, ControlVerb
from engine.control_dir import send_command
from engine.errors import UserError, suggest
from engine.runs import LIVE_STATES, RunDir, effective_state, find_run, read_status, tail_events

__all__ = ["CLI_COMMANDS", "ControlRefused", "RunNotLive", "deliver", "lr_drop_note", "lr_factor_of", "send_and_wait"]

CLI_COMMANDS: tuple[str, ...] = tuple(verb.value for verb in ControlVerb)
"""The words ``kwb control`` takes, in the order its help lists them (see ``ControlVerb``)."""


class ControlRefused(Exception):
    """The run is not alive, refused the command, or did not answer in time; ``str()`` says which."""


class RunNotLive(ControlRefused):
    """The run is not in a live state, so commands would never be read.

    Args:
        run_id: the run's id.
        state: its effective state (``finished``, ``died``, …).
    """

    def __init__(self, run_id: str, state: str) -> None:
        self.run_id = run_id
        self.state = state
        said = state if state in _ENDED_STATES else f"is {state}"
        super().__init__(f"run {run_id} {said}; nothing to control")


_ENDED_STATES = ("finished", "stopped", "failed", "died")
"""States that read as a past participle: "run X finished; nothing to control"."""


def lr_factor_of(run: RunDir | str | os.PathLike[str], default: float = 0.5) -> float:
    """The run's ``controls.lr_factor`` (what ``l`` and ``lr-drop`` multiply the rate by).

    Args:
        run: the run directory.
        default: what to return when its config cannot be read or has no factor. Defaults to 0.5.
    """
    run = run if isinstance(run, RunDir) else RunDir(Path(run))
    try:
        raw = yaml.safe_load(run.config.read_text())
        return float(raw["controls"]["lr_factor"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return default


def deliver(run: RunDir, command: Command) -> Path:
    """Drop ``command`` into ``run``'s control/ folder if the run is alive; return the command file.

    Raises:
        RunNotLive: the run is finished, stopped, failed or died.
        ControlRefused: its control/ folder is not ours to write, or is gone.
    """
    state = effective_state(read_status(run.path) or {})
    if state not in LIVE_STATES:
        raise RunNotLive(run.id, state)
    try:
        return send_command(run, command)
    except PermissionError:
        raise ControlRefused(f"no permission to write to {run.control} (only the run's owner may control it)") from None
    except FileNotFoundError:
        raise ControlRefused(f"{run.control} is gone") from None
    except OSError as exc:  # ELOOP/ENOTDIR: control/ is a symbolic link or a file; never written through
        raise ControlRefused(f"{run.control} is not a folder of its own ({exc.strerror}); nothing was sent") from None


def _command(run: RunDir, word: str, value: float | str | None, factor: float | None) -> Command:
    """The command a ``kwb control`` word asks for; a bad word or value is a ``UserError`` naming it as typed."""
    try:
        verb = ControlVerb(word)
    except ValueError:
        raise UserError(
            f"unknown command {word!r}{suggest(word, CLI_COMMANDS)}; expected one of {', '.join(CLI_COMMANDS)}", key="COMMAND"
        ) from None
    if verb is not ControlVerb.SET_LR and value is not None:
        text = value if isinstance(value, str) else f"{value:g}"
        if text.startswith("--"):
            raise UserError(f"no such option: {text}", key=word)
        how = f"; its factor goes in --factor, e.g. --factor {text}" if verb is ControlVerb.LR_DROP else ""
        raise UserError(f"takes no value, got {text}{how}", key=word)
    if verb is ControlVerb.LR_DROP:
        if factor is not None and not (0 < factor < float("inf")):
            raise UserError(f"{factor:g} is not a factor: it must be positive (0.5 halves the learning rate)", key="--factor")
        value = factor if factor is not None else lr_factor_of(run)
    elif verb is ControlVerb.SET_LR:
        value = _learning_rate(value)
    try:
        return Command(verb.command, value if verb.command.takes_value else None, source="control")
    except CommandError as exc:
        raise UserError(str(exc), key="VALUE") from None


def _learning_rate(typed: float | str | None) -> float:
    """``set-lr``'s VALUE as a rate; a UserError quotes it as typed when it is not a positive finite number."""
    if typed is None:
        raise UserError("set-lr needs a value, e.g. kwb control RUN set-lr 0.0005", key="VALUE")
    text = typed if isinstance(typed, str) else f"{typed:g}"
    try:
        rate = float(typed)
    except ValueError:
        raise UserError(f"{text} is not a learning rate: expected a positive number, e.g. 0.0005", key="VALUE") from None
    if not 0 < rate < float("inf"):
        raise UserError(f"{text} is not a learning rate: it must be {'positive' if rate <= 0 else 'finite'}", key="VALUE")
    return rate


def lr_drop_note(run: RunDir, factor: float | None) -> str | None:
    """A line for an ``lr-drop`` that raises the rate (a factor above 1), naming where the factor came from; else None."""
    value = factor if factor is not None else lr_factor_of(run)
    if not value > 1:
        return None
    where = "--factor" if factor is not None else "controls.lr_factor"
    return f"{where} {value:g} raises the learning rate ×{value:g}"


_ACK_LINES: dict[type[ev.Event], Callable[..., str]] = {
    ev.Stopping: lambda e: "stopping at the next batch boundary",
    ev.RunEnded: lambda e: f"run {e.status}",
    ev.LrChanged: lambda e: f"learning rate {e.old:.6g} -> {e.new:.6g}",
    ev.CheckpointSaved: lambda e: f"checkpoint saved: {e.path}",
    ev.Paused: lambda e: f"paused at epoch {e.epoch + 1}, batch {e.step}",
    ev.Resumed: lambda e: f"resumed after {e.paused_s:.1f}s paused",
}
"""How ``kwb control`` words each acknowledging event."""


def _ack(cmd: Command, event: ev.Event) -> str | None:
    """A human line if ``event`` acknowledges ``cmd``; raise ControlRefused if it refuses it."""
    if cmd.refused_by(event):
        raise ControlRefused(f"the run refused {cmd.name}: {event.message}")  # type: ignore[attr-defined]
    if cmd.acknowledged_by(event):
        return _ACK_LINES[type(event)](event)
    if isinstance(event, ev.RunEnded):
        raise ControlRefused(f"the run ended ({event.status}) before acting on {cmd.name}")
    return None


def send_and_wait(
    run_ref: str,
    name: str,
    *,
    value: float | str | None = None,
    factor: float | None = None,
    timeout: float = 10.0,
    runs_dir: str | os.PathLike[str] = "runs",
    note: Callable[[str], None] | None = None,
) -> str:
    """Send ``name`` (a ``kwb control`` word) to a live run; return its acknowledgement line.

    Args:
        run_ref: the run's id, a unique part of it (or one matching a single live run), or its folder.
        name: one of ``CLI_COMMANDS`` (a ``ControlVerb`` works too).
        value: the new rate, for set-lr, as a number or as typed. Defaults to None.
        factor: the lr-drop multiplier. Defaults to None, the run's ``controls.lr_factor``.
        timeout: seconds to wait for the acknowledgement. Defaults to 10.0.
        runs_dir: where runs live. Defaults to "runs".
        note: called with a line worth saying before the command goes (an lr-drop that raises
            the rate). Defaults to None.
    """
    run = find_run(run_ref, runs_dir, live_wins=True)
    cmd = _command(run, name, value, factor)
    if note is not None and cmd.name == "lr_scale" and (line := lr_drop_note(run, factor)):
        note(line)
    try:
        offset = os.path.getsize(run.events)
    except FileNotFoundError:
        offset = 0
    deliver(run, cmd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events, offset = tail_events(run.events, offset)
        for event in events:
            line = _ack(cmd, event)
            if line:
                return line
        if effective_state(read_status(run.path) or {}) == "died":
            raise ControlRefused(f"run {run.id} died before acknowledging {name}")
        time.sleep(0.05)
    raise ControlRefused(f"no acknowledgement from run {run.id} within {timeout:g}s")
