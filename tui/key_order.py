"""Keys applied in the order they arrived: an App mixin that hands out one key at a time.

Textual forwards each key to the focused widget's message queue as soon as the App reads
it, but a key the widget does not handle itself (tab, ctrl+u, enter …) travels back up to
the App, through the parents' queues, before its binding runs. Keys that arrived in the
same read (a paste, several keys over a laggy SSH link) have meanwhile been forwarded to
the old focus: ``32<Tab>tanh`` left ``32tanh`` in one field, and ``ctrl+u`` then ``48``
deleted the ``48`` typed after it. The same race let digits typed just after a key that
opens a dialog reach the screen behind it as screen shortcuts.

:class:`OrderedKeys` holds back the next key until the one before has gone all the way
(widget, parents, bindings) and what it set off has settled: every queue of the current
screen processed, a dialog it opened mounted and focused. A key that arrives alone is
handed on at once, as before; only keys that arrive while one is in flight wait, and
never longer than :data:`SETTLE_LIMIT`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from textual import events
from textual.app import ModeError, ScreenError
from textual.message_pump import MessagePump

__all__ = ["OrderedKeys", "SETTLE_LIMIT"]

SETTLE_LIMIT = 1.0
"""Seconds at most that a key waits for the one before it to settle (a stuck widget must not hold the keyboard)."""

_ORDERED = (events.Key, events.Paste)


def _idle(pump: MessagePump) -> bool:
    """True when ``pump`` has nothing queued (it may still be finishing the message in hand)."""
    return pump._message_queue.empty() and pump._pending_message is None  # private: Textual has no public way to ask


async def _drain(pumps: list[MessagePump], timeout: float) -> None:
    """Wait until each of ``pumps`` has processed what was queued on it when this was called."""
    done = [asyncio.Event() for _ in pumps]
    waits = [event.wait() for pump, event in zip(pumps, done) if pump.call_later(event.set)]
    if waits:
        await asyncio.wait([asyncio.ensure_future(w) for w in waits], timeout=max(0.0, timeout))


class OrderedKeys:
    """Mix into an ``App`` (before it): keys and pastes are handled one after the other, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys_waiting: deque[events.Event] = deque()
        self._key_in_flight: events.Event | None = None
        self._key_settling: asyncio.Task[None] | None = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, _ORDERED) and not event.is_forwarded:
            if self._key_in_flight is not None:
                self._keys_waiting.append(event)
                return
            await self._hand_out(event)
            return
        await super().on_event(event)  # type: ignore[misc]

    async def _hand_out(self, event: events.Event) -> None:
        self._key_in_flight = event
        try:
            await super().on_event(event)  # type: ignore[misc]  # priority bindings, else forwarded to the focus
        finally:
            self._key_settling = asyncio.ensure_future(self._settle())

    async def _settle(self) -> None:
        """Let the key in flight and all it caused finish, then hand out the next one."""
        deadline = time.monotonic() + SETTLE_LIMIT
        try:
            while time.monotonic() < deadline:
                screen = self.screen  # type: ignore[attr-defined]
                pumps: list[MessagePump] = [screen, *screen.walk_children()]
                quiet = screen.is_mounted and all(_idle(p) for p in pumps)
                # A message the key set off moves one widget up per round; the App's own turn
                # comes last (the key's binding, a dialog's focus callback run there).
                await _drain(pumps, deadline - time.monotonic())
                await _drain([self], deadline - time.monotonic())  # type: ignore[list-item]
                if quiet and self.screen is screen:  # type: ignore[attr-defined]
                    break
        except (ScreenError, ModeError):
            pass  # no screen: the app is closing, nothing left to wait for
        finally:
            self.call_later(self._next_key)  # type: ignore[attr-defined]

    async def _next_key(self) -> None:
        self._key_in_flight = None
        if self._keys_waiting:
            await self._hand_out(self._keys_waiting.popleft())
