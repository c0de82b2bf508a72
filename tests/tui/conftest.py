"""Shared fixtures for the app's tests: a tiny config, recorded runs, a recorder of run events, a waiter."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from textual.message import Message

from engine import events as ev

FIXTURES = Path(__file__).parent / "fixtures"
RUNS = FIXTURES / "runs"

TINY = """\
name: tiny
seed: 1
data: {source: synthetic, name: spirals, samples: 6000, noise: 0.2, validation_split: 0.2}
model:
  input_shape: [2]
  layers:
    - Dense: {units: 16, activation: relu}
    - Dense: {units: 2, activation: softmax}
compile: {optimizer: {name: adam, learning_rate: 0.01}, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
fit: {epochs: %(epochs)d, batch_size: 8}
callbacks: {model_checkpoint: null, backup_and_restore: false}
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never touch the real ~/.cache/kwb (the remembered config).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def tiny_config(tmp_path: Path):
    """``tiny_config(epochs=40, extra="")`` writes a tiny runnable config and returns its path."""

    def write(epochs: int = 40, extra: str = "") -> Path:
        path = tmp_path / "tiny.yaml"
        path.write_text(TINY % {"epochs": epochs} + extra, encoding="utf-8")
        return path

    return write


@pytest.fixture
def controls_events() -> Path:
    """A recorded run: lr drop, checkpoint, pause, resume, then stop."""
    return next(RUNS.glob("*-controls")) / "events.jsonl"


@pytest.fixture
def fixture_runs() -> Path:
    return RUNS


class RunEvents(list):
    """The run events an app handled, in order: pass ``run_test(message_hook=events.hook)``."""

    def hook(self, message: Message) -> None:
        from tui.app import KwbApp

        if isinstance(message, KwbApp.RunEvent):
            self.append(message.event)

    def seen(self, event_type: type[ev.Event], **fields: Any) -> bool:
        """True once an event of ``event_type`` with these field values arrived."""
        return any(isinstance(e, event_type) and all(getattr(e, k) == v for k, v in fields.items()) for e in self)

    def last(self, event_type: type[ev.Event], **fields: Any) -> Any:
        """The latest such event (fails the test if there is none)."""
        found = [e for e in self if isinstance(e, event_type) and all(getattr(e, k) == v for k, v in fields.items())]
        assert found, f"no {event_type.__name__} {fields} among {len(self)} events"
        return found[-1]


@pytest.fixture
def run_events() -> RunEvents:
    """A fresh recorder of one app's run events (``message_hook=run_events.hook``)."""
    return RunEvents()


Waiter = Callable[..., Awaitable[None]]


@pytest.fixture
def wait_for() -> Waiter:
    """``await wait_for(pilot, condition, timeout=60, what="the run")``: let the app run until ``condition()``.

    Runs live in threads (and detached runs in other processes), so a pilot test waits on
    their effects rather than on a fixed delay.
    """

    async def wait(pilot: Any, condition: Callable[[], bool], timeout: float = 60.0, what: str = "the run") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await pilot.pause(0.05)

    return wait
