"""Attach the dashboard to a run in another process, through its run directory.

The run-directory transport of design.md, seen from the app: events come from the
run's ``events.jsonl`` (history replayed once, then tailed every ``POLL_S``), and the
controls go out as command files in its ``control/`` folder with source
``"control"``. :class:`RemoteControl` has the same verbs as ``engine.control.Control``,
so the app's key handlers do not care which transport a run uses; acknowledgements
arrive as events, exactly as in-process. Viewing never touches the run: closing the
viewer stops only the tail, and any number of viewers may follow one run.

Nothing here imports TensorFlow, so ``kwb attach`` opens at once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from engine import events as ev
from engine.control import Command, CommandError, CommandVerbs
from engine.control_dir import send_command
from engine.runs import (
    LIVE_STATES,
    RunDir,
    effective_state,
    read_status,
    tail_events,
)

__all__ = ["POLL_S", "STATUS_EVERY_S", "RemoteControl", "RemoteRefused", "follow", "lr_factor_of", "run_state", "spawn_detached"]

POLL_S = 0.25
"""How often an attached viewer reads new lines of ``events.jsonl``."""
STATUS_EVERY_S = 2.0
"""How often it also checks status.json, to notice a run whose process died."""


class RemoteRefused(Exception):
    """A command the viewer will not send: the run is not alive, or its control/ is not ours."""


def run_state(run: RunDir) -> str:
    """The run's effective state (``died`` when its process or heartbeat is gone)."""
    return effective_state(read_status(run.path) or {})


class RemoteControl(CommandVerbs):
    """``Control``'s verbs, delivered as command files to a run directory.

    Each verb checks the run is still alive first and raises :class:`RemoteRefused`
    with a reason otherwise; a sent command is acknowledged (or refused) by an event.
    """

    def __init__(self, run: RunDir) -> None:
        self.run = run

    def send(self, name: str, value: float | None = None) -> Command:
        state = run_state(self.run)
        if state not in LIVE_STATES:
            raise RemoteRefused(f"run {self.run.id} is {state}; controls need a running run")
        try:
            command = Command(name, value, source="control")
        except CommandError as exc:
            raise RemoteRefused(str(exc)) from None
        try:
            send_command(self.run, command)
        except PermissionError:
            raise RemoteRefused(f"no permission to write to {self.run.control} (only the run's owner may control it)") from None
        except FileNotFoundError:
            raise RemoteRefused(f"{self.run.control} is gone") from None
        return command


def follow(run: RunDir, on_history, on_event, cancelled, poll_s: float = POLL_S) -> str:
    """Replay ``run``'s events, then tail them until it ends or ``cancelled()``.

    ``on_history(events)`` gets every event recorded so far, once; ``on_event(event)``
    each later one. Returns the final state: the ``run_ended`` status, ``died`` when
    the process vanished without one, or ``cancelled``. Runs in a thread.
    """
    events, offset = tail_events(run.events, 0)
    on_history(events)
    if any(isinstance(e, ev.RunEnded) for e in events):
        return next(e.status for e in reversed(events) if isinstance(e, ev.RunEnded))
    last_status = time.monotonic()
    while not cancelled():
        time.sleep(poll_s)
        events, offset = tail_events(run.events, offset)
        for event in events:
            on_event(event)
            if isinstance(event, ev.RunEnded):
                return event.status
        if time.monotonic() - last_status >= STATUS_EVERY_S:
            last_status = time.monotonic()
            if run_state(run) not in LIVE_STATES:
                # One last read: the run may have ended between the tail and the status check.
                events, offset = tail_events(run.events, offset)
                for event in events:
                    on_event(event)
                    if isinstance(event, ev.RunEnded):
                        return event.status
                return run_state(run)
    return "cancelled"


_STARTED = re.compile(r"^\s*dir\s+(\S.*)$", re.MULTILINE)


def lr_factor_of(run: RunDir, default: float = 0.5) -> float:
    """The run's ``controls.lr_factor`` (what ``l`` multiplies by), from its resolved config."""
    import yaml

    try:
        return float(yaml.safe_load(run.config.read_text())["controls"]["lr_factor"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return default


def spawn_detached(config_path: Path, runs_dir: Path, timeout: float = 300) -> Path:
    """``kwb train CONFIG --detach --runs-dir RUNS``; returns the new run's directory.

    Raises ``RuntimeError`` with the command's own output when it fails.
    """
    cmd = [sys.executable, "-m", "tui.cli", "train", str(config_path), "--detach", "--runs-dir", str(runs_dir)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    match = _STARTED.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError((done.stdout + done.stderr).strip() or f"kwb train --detach exited with {done.returncode}")
    return Path(match.group(1).strip())
