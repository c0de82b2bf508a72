"""Fixtures for the callback tests: a real ``model.fit`` in a background thread, driven by a ``Control`` like the app drives it."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import pytest

from engine import events as ev
from engine.callbacks.bridge import Bridge
from engine.control import Control, QueueSink

LR = 0.01
"""The live model's starting learning rate (``LiveFit.initial_lr``)."""


class LiveFit:
    """A tiny model training for (practically) ever in a thread, with a Bridge and a Control."""

    def __init__(
        self,
        checkpoint_dir: Path | None,
        *,
        interval: float = 0.1,
        extra: Callable[[Bridge], list[keras.callbacks.Callback]] | None = None,
        epochs: int = 100_000,
    ) -> None:
        self.control = Control()
        self.initial_lr = LR
        self._queue: queue.SimpleQueue[ev.Event] = queue.SimpleQueue()
        self.bridge = Bridge(QueueSink(self._queue), self.control, checkpoint_dir=checkpoint_dir, interval=interval, batch_size=8)
        self.seen: list[ev.Event] = []
        self._pos = 0
        self.error: BaseException | None = None
        self.history: Any = None
        inputs = keras.Input((4,))
        hidden = keras.layers.Dense(8, activation="relu")(inputs)
        self.model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))
        self.model.compile(optimizer=keras.optimizers.SGD(learning_rate=LR), loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(256, 4)).astype("float32")
        self.y = (self.x[:, 0] > 0).astype("int32")
        callbacks = [self.bridge, *(extra(self.bridge) if extra else [])]
        self.thread = threading.Thread(target=self._fit, args=(callbacks, epochs), daemon=True)
        self.t0 = time.monotonic()
        self.thread.start()

    def _fit(self, callbacks: list[Any], epochs: int) -> None:
        try:
            self.history = self.model.fit(self.x, self.y, batch_size=8, epochs=epochs, callbacks=callbacks, verbose=0)
        except BaseException as exc:  # surfaced by finish()
            self.error = exc

    def _pull(self, timeout: float) -> bool:
        try:
            self.seen.append(self._queue.get(timeout=timeout))
            return True
        except queue.Empty:
            return False

    def wait_for(self, kind: type[ev.Event], where: Callable[[Any], bool] = lambda e: True, timeout: float = 30) -> Any:
        """The next event of ``kind`` (after the last one returned) that satisfies ``where``."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self._pos, len(self.seen)):
                e = self.seen[i]
                if isinstance(e, kind) and where(e):
                    self._pos = i + 1
                    return e
            self._pos = len(self.seen)
            left = deadline - time.monotonic()
            if left <= 0:
                types = [e.type for e in self.seen[-20:]]
                raise AssertionError(f"no {kind.type} event within {timeout}s; last events: {types}")
            self._pull(min(left, 0.2))

    def drain(self, seconds: float) -> list[ev.Event]:
        """Every event that arrives within ``seconds``."""
        start = len(self.seen)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pull(max(0.0, deadline - time.monotonic()))
        return self.seen[start:]

    def finish(self, timeout: float = 30) -> list[ev.Event]:
        """Stop (if still running), join the thread, and return every event."""
        if self.thread.is_alive():
            self.control.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "training did not stop"
        while self._pull(0.0):
            pass
        if self.error is not None:
            raise self.error
        return self.seen


@pytest.fixture
def live(tmp_path: Path):
    """Start a ``LiveFit`` (checkpoints under ``tmp_path``); every one is stopped at teardown."""

    runs: list[LiveFit] = []

    def start(**kwargs: Any) -> LiveFit:
        kwargs.setdefault("checkpoint_dir", tmp_path / "checkpoints")
        run = LiveFit(**kwargs)
        runs.append(run)
        return run

    yield start
    for run in runs:  # never leave a training thread behind, even when a test failed
        if run.thread.is_alive():
            run.control.stop()
            run.control.resume()
            run.thread.join(30)


@pytest.fixture
def tiny_model() -> Callable[..., tuple[keras.Model, np.ndarray, np.ndarray]]:
    """Build a one-layer classifier and 160 samples: ``tiny_model(steps_per_execution=1)``."""

    def build(steps_per_execution: int = 1) -> tuple[keras.Model, np.ndarray, np.ndarray]:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", steps_per_execution=steps_per_execution)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(160, 4)).astype("float32")
        return model, x, (x[:, 0] > 0).astype("int32")

    return build
