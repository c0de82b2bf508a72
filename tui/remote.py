"""Attach the dashboard to a run in another process, through its run directory.

The run-directory transport of docs/architecture.md, seen from the app: events come from the
run's ``events.jsonl`` (history replayed once, then tailed every ``POLL_S``), and the
controls go out as command files in its ``control/`` folder with source
``"control"``. :class:`RemoteControl` has the same verbs as ``engine.control.Control``,
so the app's key handlers do not care which transport a run uses; acknowledgements
arrive as events, exactly as in-process. Viewing never touches the run: closing the
viewer stops only the tail, and any number of viewers may follow one run.

Nothing here imports TensorFlow, so ``kwb attach`` opens at once.
"""

from __future__ import annotations

import time
from typing import Callable

from engine import events as ev
from engine.control import Command, CommandError, CommandName, CommandVerbs
from engine.control_client import ControlRefused, deliver
from engine.recorded import whole_events
from engine.runs import LIVE_STATES, RunDir, run_state, tail_events

__all__ = ["POLL_S", "STATUS_EVERY_S", "RemoteControl", "follow"]

POLL_S = 0.25
"""How often an attached viewer reads new lines of ``events.jsonl``."""
STATUS_EVERY_S = 2.0
"""How often it also checks status.json, to notice a run whose process died."""


class RemoteControl(CommandVerbs):
    """``Control``'s verbs, delivered as command files to a run directory.

    Each verb goes through ``engine.control_client.deliver``, which checks the run is
    still alive and its control/ folder ours to write, and raises ``ControlRefused``
    with the reason otherwise; a sent command is acknowledged (or refused) by an event.
    """

    def __init__(self, run: RunDir) -> None:
        self.run = run

    def send(self, command: Command | CommandName | str, value: float | None = None, source: str = "control") -> Command:
        if not isinstance(command, Command):
            try:
                command = Command(command, value, source=source)
            except CommandError as exc:
                raise ControlRefused(str(exc)) from None
        deliver(self.run, command)
        return command


def follow(
    run: RunDir,
    on_history: Callable[[list[ev.Event]], None],
    on_event: Callable[[ev.Event], None],
    cancelled: Callable[[], bool],
    poll_s: float = POLL_S,
) -> str:
    """Replay ``run``'s events, then tail them until it ends or ``cancelled()``.

    ``on_history(events)`` gets every event recorded so far, once (a run already over:
    completed by ``engine.recorded.whole_events``); ``on_event(event)``
    each later one. Returns the final state: the ``run_ended`` status, ``died`` when
    the process vanished without one, or ``cancelled``. Runs in a thread.
    """
    events, offset = tail_events(run.events, 0)
    live = run_state(run) in LIVE_STATES
    if not live:
        events = whole_events(run.path, events)  # an ended run's cut-off events: history.csv and status.json say the rest
    on_history(events)
    # A live run's trailing run_ended closes an earlier segment: a resume that has not written its
    # run_started yet (the app follows it as soon as it announces its directory).
    ended = None if live else _ended(events)
    if ended is not None:
        return ended
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


def _ended(events: list[ev.Event]) -> str | None:
    """The status of the ``run_ended`` that closes ``events``; None while the run goes on (a resumed run's earlier
    segment ended with one, and a ``run_started`` after it begins the next)."""
    for event in reversed(events):
        if isinstance(event, ev.RunStarted):
            return None
        if isinstance(event, ev.RunEnded):
            return event.status
    return None
