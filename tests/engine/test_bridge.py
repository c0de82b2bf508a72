"""engine.bridge: a real ``model.fit`` in a background thread, driven by a ``Control`` like the app drives it.

Every command must be acknowledged by its event (or refused with an ``error`` event),
and applied on the training thread at a batch boundary.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import pytest

from engine import events as ev
from engine.bridge import Bridge, EpochSchedule, get_lr
from engine.control import CallbackSink, Command, CommandError, Control, QueueSink

LR = 0.01


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


def lr_of(run: LiveFit) -> float:
    return get_lr(run.model.optimizer)


# ---------------------------------------------------------------- stop
def test_stop_ends_training_at_a_batch_boundary(live):
    run = live()
    run.wait_for(ev.EpochEnded)
    cmd = run.control.stop()
    stopping = run.wait_for(ev.Stopping)
    assert stopping.reason == "user" and cmd.name == "stop"
    events = run.finish()
    assert run.bridge.stop_reason == "user"
    ended = [e for e in events if isinstance(e, ev.EpochEnded)]
    assert 1 <= len(ended) < 100 and len(run.history.history["loss"]) == len(ended)
    assert sum(isinstance(e, ev.Stopping) for e in events) == 1


def test_stop_source_becomes_the_reason(live):
    run = live()
    run.wait_for(ev.Batch)
    run.control.send("stop", source="interrupt")
    assert run.wait_for(ev.Stopping).reason == "interrupt"
    run.finish()



class SendAt(keras.callbacks.Callback):
    """Placed after the bridge: sends a command once batch ``at`` has begun, i.e. while it is in flight."""

    def __init__(self, control: Control, at: int, name: str = "stop") -> None:
        super().__init__()
        self.control, self.at, self.name = control, at, name
        self.sent = False
        self.batches_run = 0

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if batch == self.at and not self.sent:
            self.sent = True
            self.control.send(self.name)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.batches_run += 1


def tiny_model(steps_per_execution: int = 1) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", steps_per_execution=steps_per_execution)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 4)).astype("float32")
    return model, x, (x[:, 0] > 0).astype("int32")


def test_stop_during_a_batch_runs_no_further_batch():
    """A stop that arrives while a batch runs takes effect when that batch ends, not one batch later."""
    control, events = Control(), []
    model, x, y = tiny_model()
    sender = SendAt(control, at=5)
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0,
                        callbacks=[Bridge(CallbackSink(events.append), control), sender])  # fmt: skip
    assert sender.batches_run == 6  # batches 0-5: the one in flight finished, none after it
    assert len(history.history["loss"]) == 1
    (stopping,) = [e for e in events if isinstance(e, ev.Stopping)]
    assert (stopping.reason, stopping.epoch, stopping.step) == ("user", 0, 6)


def test_steps_per_execution_reports_steps_not_executions():
    """Keras calls the batch hooks once per execution of 8 steps; events still count steps."""
    control, events = Control(), []
    model, x, y = tiny_model(steps_per_execution=8)  # 160 samples / 8 = 20 steps: executions at 0, 8, 16
    bridge = Bridge(CallbackSink(events.append), control, interval=0.0, batch_size=8)
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[bridge], verbose=0)
    batches = [e for e in events if isinstance(e, ev.Batch)]
    assert [(e.epoch, e.step) for e in batches] == [(0, 8), (0, 16), (1, 8), (1, 16)]
    assert {e.steps for e in batches} == {20}
    assert all(e.samples_per_s and e.samples_per_s > 0 for e in batches)

    # A command during the last, partial execution (steps 16-19) is applied at its end: step 20 of 20.
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[bridge, SendAt(control, at=16)], verbose=0)
    stopping = [e for e in events if isinstance(e, ev.Stopping)][-1]
    assert (stopping.epoch, stopping.step) == (0, 20)


# ---------------------------------------------------------------- learning rate
def test_lr_scale_is_applied_and_acknowledged(live):
    run = live()
    run.wait_for(ev.EpochEnded)
    run.control.lr_scale(0.5)
    changed = run.wait_for(ev.LrChanged)
    assert changed.source == "user"
    assert changed.old == pytest.approx(LR) and changed.new == pytest.approx(LR / 2)
    assert changed.epoch is not None and changed.step is not None
    after = run.wait_for(ev.EpochEnded)
    assert after.learning_rate == pytest.approx(LR / 2) and after.logs["learning_rate"] == pytest.approx(LR / 2)
    assert lr_of(run) == pytest.approx(LR / 2)
    assert run.bridge.lr_multiplier == pytest.approx(0.5)
    run.finish()


def test_set_lr_is_applied_and_acknowledged(live):
    run = live()
    run.wait_for(ev.Batch)
    run.control.set_lr(0.003)
    changed = run.wait_for(ev.LrChanged)
    assert (changed.old, changed.new) == (pytest.approx(LR), pytest.approx(0.003))
    assert run.wait_for(ev.EpochEnded).learning_rate == pytest.approx(0.003)
    run.finish()


@pytest.mark.parametrize(("name", "value"), [("lr_scale", 0), ("lr_scale", -2.0), ("set_lr", None), ("set_lr", float("nan")), ("jump", None)])
def test_bad_commands_are_refused_before_they_reach_training(name: str, value: float | None):
    with pytest.raises(CommandError):
        Command(name, value)
    assert not Control().pending


def test_lr_change_under_a_schedule_keeps_the_schedule_shape(live):
    """An ``lr_schedule`` keeps setting the rate each epoch; a user change scales it, not replaces it."""

    def schedule(epoch: int) -> float:
        return 0.1 * 0.8**epoch

    run = live(extra=lambda bridge: [EpochSchedule(schedule, bridge)])
    first = run.wait_for(ev.EpochEnded, lambda e: e.epoch == 1)
    assert first.learning_rate == pytest.approx(schedule(1), rel=1e-6)
    run.control.lr_scale(0.5)
    changed = run.wait_for(ev.LrChanged)
    assert changed.new == pytest.approx(changed.old * 0.5, rel=1e-6)
    later = [run.wait_for(ev.EpochEnded) for _ in range(3)]
    events = run.finish()
    by_epoch = {e.epoch: e.learning_rate for e in events if isinstance(e, ev.EpochEnded)}
    for epoch, lr in by_epoch.items():
        scale = 1.0 if epoch < changed.epoch else 0.5
        assert lr == pytest.approx(schedule(epoch) * scale, rel=1e-5), (epoch, lr, changed)
    assert later[-1].epoch >= changed.epoch + 2


def test_set_lr_under_a_schedule_rescales_the_rest_of_it(live):
    def schedule(epoch: int) -> float:
        return 0.1 / (1 + epoch)

    run = live(extra=lambda bridge: [EpochSchedule(schedule, bridge)])
    run.wait_for(ev.EpochEnded, lambda e: e.epoch == 0)
    run.control.pause()
    paused = run.wait_for(ev.Paused)
    run.control.set_lr(0.01)  # applied while paused, on the training thread
    changed = run.wait_for(ev.LrChanged)
    assert changed.new == pytest.approx(0.01) and get_lr(run.model.optimizer) == pytest.approx(0.01)
    run.control.resume()
    run.wait_for(ev.Resumed)
    # From here on the schedule runs at new/old of its height: set_lr moved it, did not flatten it.
    factor = changed.new / changed.old
    assert run.bridge.lr_multiplier == pytest.approx(factor, rel=1e-6)
    run.wait_for(ev.EpochEnded, lambda e: e.epoch == paused.epoch + 2)
    events = run.finish()
    after = [e for e in events if isinstance(e, ev.EpochEnded) and e.epoch >= changed.epoch]
    assert len(after) >= 2
    for e in after:
        assert e.learning_rate == pytest.approx(schedule(e.epoch) * factor, rel=1e-5), (e.epoch, e.learning_rate)


# ---------------------------------------------------------------- checkpoint
def test_checkpoint_saves_a_loadable_model(live, tmp_path: Path):
    run = live()
    run.wait_for(ev.Batch, lambda e: e.step > 0)
    run.control.checkpoint()
    saved = run.wait_for(ev.CheckpointSaved)
    assert saved.kind == "manual" and saved.path == str(tmp_path / "checkpoints" / "manual-001.keras")
    assert saved.epoch is not None and saved.step is not None
    run.control.checkpoint()
    second = run.wait_for(ev.CheckpointSaved)
    assert second.path.endswith("manual-002.keras")
    run.finish()
    loaded = keras.models.load_model(saved.path)
    assert loaded.count_params() == run.model.count_params()
    assert loaded.predict(run.x[:4], verbose=0).shape == (4, 2)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["manual-001.keras", "manual-002.keras"]


def test_checkpoint_without_a_folder_is_refused(live):
    run = live(checkpoint_dir=None)
    run.wait_for(ev.Batch)
    run.control.checkpoint()
    refused = run.wait_for(ev.Error)
    assert refused.command == "checkpoint" and refused.message == "this run has no checkpoint folder"
    assert not refused.fatal
    run.wait_for(ev.EpochEnded)  # training goes on
    run.finish()


def test_checkpoint_numbering_continues_after_existing_files(live, tmp_path: Path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "manual-001.keras").write_bytes(b"earlier run")
    run = live()
    run.wait_for(ev.Batch)
    run.control.checkpoint()
    assert run.wait_for(ev.CheckpointSaved).path.endswith("manual-002.keras")
    run.finish()
    assert (folder / "manual-001.keras").read_bytes() == b"earlier run"


# ---------------------------------------------------------------- pause / resume
def test_pause_blocks_training_until_resume(live):
    run = live()
    run.wait_for(ev.EpochEnded)
    run.control.pause()
    paused = run.wait_for(ev.Paused)
    assert run.bridge.paused
    quiet = run.drain(0.6)
    assert not [e for e in quiet if isinstance(e, (ev.Batch, ev.EpochEnded, ev.EpochStarted))], quiet

    # Other commands are still served while paused; a second pause is refused.
    run.control.lr_scale(0.5)
    assert run.wait_for(ev.LrChanged).new == pytest.approx(LR / 2)
    run.control.pause()
    refused = run.wait_for(ev.Error)
    assert (refused.command, refused.message) == ("pause", "already paused")
    run.control.checkpoint()
    assert run.wait_for(ev.CheckpointSaved).kind == "manual"

    run.control.resume()
    resumed = run.wait_for(ev.Resumed)
    assert (resumed.epoch, resumed.step) == (paused.epoch, paused.step)
    assert resumed.paused_s >= 0.6
    assert not run.bridge.paused
    # Training continues where it stopped.
    after = run.wait_for(ev.EpochEnded)
    assert after.epoch >= paused.epoch
    run.finish()


def test_stop_while_paused_ends_the_run(live):
    run = live()
    run.wait_for(ev.Batch)
    run.control.pause()
    run.wait_for(ev.Paused)
    run.control.stop()
    assert run.wait_for(ev.Stopping).reason == "user"
    run.finish(timeout=10)


def test_resume_when_not_paused_is_refused(live):
    run = live()
    run.wait_for(ev.Batch)
    run.control.resume()
    refused = run.wait_for(ev.Error)
    assert refused.command == "resume" and refused.message == "not paused" and not refused.fatal
    run.wait_for(ev.EpochEnded)
    events = run.finish()
    assert not any(isinstance(e, (ev.Paused, ev.Resumed)) for e in events)


# ---------------------------------------------------------------- events
def test_batch_events_are_throttled(live):
    run = live(interval=0.1)
    run.wait_for(ev.EpochEnded, lambda e: e.epoch == 2)
    run.drain(0.5)
    events = run.finish()
    elapsed = time.monotonic() - run.t0
    batches = [e for e in events if isinstance(e, ev.Batch)]
    epochs = sum(isinstance(e, ev.EpochStarted) for e in events)
    steps_run = len(run.history.history["loss"]) * 32
    assert epochs >= 3, "the model trains many epochs a second; the throttle must matter"
    assert len(batches) <= elapsed / 0.1 + epochs + 3, (len(batches), elapsed, epochs)
    assert len(batches) >= 4
    assert len(batches) < steps_run / 4
    stamps = [e.t for e in batches]
    assert sum(b - a < 0.09 for a, b in zip(stamps, stamps[1:])) <= 1  # at most one pair inside the interval
    later = [e for e in batches if e.step > 0]
    assert later and {"loss"} <= set(later[-1].logs) and later[-1].steps == 32
    assert all(e.samples_per_s is None or e.samples_per_s > 0 for e in batches)


def test_epoch_events_carry_full_logs(live):
    run = live()
    started = run.wait_for(ev.EpochStarted)
    ended = run.wait_for(ev.EpochEnded)
    assert (started.epoch, started.epochs) == (0, 100_000) and ended.epoch == 0
    assert set(ended.logs) == {"loss", "learning_rate"}
    assert math.isfinite(ended.logs["loss"]) and ended.duration_s > 0
    run.finish()
    assert run.bridge.epochs_completed == len(run.bridge.history)
    assert run.bridge.history[0] == ended.logs


def test_bridge_state_is_reset_for_a_second_fit(live):
    run = live(epochs=100_000)
    run.wait_for(ev.Batch)
    run.control.stop()
    run.finish()
    assert run.bridge.stop_reason == "user"
    run.model.fit(run.x, run.y, batch_size=64, epochs=2, callbacks=[run.bridge], verbose=0)
    assert run.bridge.stop_reason is None and run.bridge.epochs_completed == 2 and len(run.bridge.history) == 2
