"""Control a run from another process: drop a command in its control/ folder and wait for the acknowledgement."""

from __future__ import annotations

import os
import time

import yaml

from engine import events as ev
from engine.control import Command, CommandError
from engine.errors import UserError
from engine.control_dir import send_command
from engine.runs import LIVE_STATES, RunDir, effective_state, find_run, read_status, tail_events

__all__ = ["ControlRefused", "send_and_wait", "CLI_COMMANDS"]

CLI_COMMANDS = ("stop", "pause", "resume", "checkpoint", "lr-drop", "set-lr")


class ControlRefused(Exception):
    """The run is not alive, refused the command, or did not answer in time."""


def _lr_factor(run: RunDir) -> float:
    try:
        raw = yaml.safe_load(run.config.read_text())
        return float(raw["controls"]["lr_factor"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return 0.5


def _command(run: RunDir, name: str, value: float | None, factor: float | None) -> Command:
    try:
        if name == "lr-drop":
            return Command("lr_scale", factor if factor is not None else _lr_factor(run), source="control")
        if name == "set-lr":
            if value is None:
                raise UserError("set-lr needs a value, e.g. kwb control RUN set-lr 0.0005", key="VALUE")
            return Command("set_lr", value, source="control")
        if name in ("stop", "pause", "resume", "checkpoint"):
            return Command(name, source="control")
    except CommandError as exc:
        raise UserError(str(exc), key="VALUE") from None
    from engine.config import suggest

    raise UserError(f"unknown command {name!r}{suggest(name, CLI_COMMANDS)}; expected one of {', '.join(CLI_COMMANDS)}", key="COMMAND")


def _ack(cmd: Command, event: ev.Event) -> str | None:
    """A human line if ``event`` acknowledges ``cmd``; raise ControlRefused if it refuses it."""
    if isinstance(event, ev.Error) and event.command == cmd.name:
        raise ControlRefused(f"the run refused {cmd.name}: {event.message}")
    name = cmd.name
    if name == "stop" and isinstance(event, (ev.Stopping, ev.RunEnded)):
        return "stopping at the next batch boundary" if isinstance(event, ev.Stopping) else f"run {event.status}"
    if name in ("lr_scale", "set_lr") and isinstance(event, ev.LrChanged) and event.source == cmd.source:
        return f"learning rate {event.old:.6g} -> {event.new:.6g}"
    if name == "checkpoint" and isinstance(event, ev.CheckpointSaved) and event.kind == "manual":
        return f"checkpoint saved: {event.path}"
    if name == "pause" and isinstance(event, ev.Paused):
        return f"paused at epoch {event.epoch + 1}, batch {event.step}"
    if name == "resume" and isinstance(event, ev.Resumed):
        return f"resumed after {event.paused_s:.1f}s paused"
    if isinstance(event, ev.RunEnded):
        raise ControlRefused(f"the run ended ({event.status}) before acting on {name}")
    return None


def send_and_wait(
    run_ref: str,
    name: str,
    *,
    value: float | None = None,
    factor: float | None = None,
    timeout: float = 10.0,
    runs_dir: str | os.PathLike[str] = "runs",
) -> str:
    """Send ``name`` (a CLI command word) to a live run; return its acknowledgement line."""
    run = find_run(run_ref, runs_dir)
    cmd = _command(run, name, value, factor)
    status = read_status(run.path) or {}
    state = effective_state(status)
    if state not in LIVE_STATES:
        raise ControlRefused(f"run {run.id} is not running (state: {state})")
    try:
        offset = os.path.getsize(run.events)
    except FileNotFoundError:
        offset = 0
    try:
        send_command(run, cmd)
    except PermissionError:
        raise ControlRefused(f"no permission to write to {run.control} (only the run's owner may control it)") from None
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
