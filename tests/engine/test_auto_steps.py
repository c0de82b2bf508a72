"""engine.callbacks.steps: the auto choice of steps_per_execution, exact step counters, commands at execution end."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import keras
import numpy as np
import pytest

from engine import events as ev
from engine.callbacks.bridge import Bridge
from engine.callbacks.steps import MAX_STEPS, AutoSteps, StepsChoice, choose_steps, steps_for
from engine.config import FitConfig
from engine.control import CallbackSink, Control


def tiny(samples: int = 160) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(samples, 4)).astype("float32"), rng.integers(0, 3, samples).astype("int32")


def run_cfg(**fit: Any) -> Any:
    return SimpleNamespace(fit=FitConfig(batch_size=8, **fit))


def data_of(x: np.ndarray, y: np.ndarray) -> Any:
    return SimpleNamespace(train_ds=None, x_train=x, y_train=y)


class Steps(keras.callbacks.Callback):
    """Records every (begin, end) Keras reports, per epoch, and sends a command once at step ``at``."""

    def __init__(self, control: Control | None = None, at: int = -1) -> None:
        super().__init__()
        self.control, self.at = control, at
        self.calls: list[tuple[int, int, int]] = []

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._begin = batch
        if batch == self.at and self.control is not None:
            self.control.send("stop")
            self.at = -1

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.calls.append((self.epoch, self._begin, batch))


class TestChoice:
    """N from a measured step: within 1 .. a quarter of an epoch; an explicit integer wins."""

    @pytest.mark.parametrize(
        ("step_s", "aim_ms", "steps", "expected"),
        [(0.001, 25, 1875, 25), (0.001, 25, 40, 10), (0.5, 25, 1875, 1), (1e-7, 25, None, MAX_STEPS), (0.002, 25, 3, 1)],
    )
    def test_steps_for_bounds(self, step_s, aim_ms, steps, expected):
        assert steps_for(step_s, aim_ms, steps) == expected

    def test_auto_times_a_real_step_and_sets_the_model(self):
        model, x, y = tiny()
        choice = choose_steps(model, run_cfg(), data_of(x, y), steps_per_epoch=20)
        assert choice.step_s is not None and 0 < choice.step_s < 1
        assert 1 <= choice.steps <= 5 and model.steps_per_execution == choice.steps
        assert choice.reason.startswith(f"auto: {choice.steps} steps per execution (")
        # a long aim hits the quarter-epoch cap
        assert choose_steps(model, run_cfg(execution_ms=10_000), data_of(x, y), steps_per_epoch=20).steps == 5

    def test_calibration_times_the_update_on_a_shadow_and_changes_nothing(self, monkeypatch):
        from engine.callbacks import steps as steps_module

        model, x, y = tiny()
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        before = [w.copy() for w in model.get_weights()]
        update = steps_module._shadow_update(model)
        assert update is not None  # Adam copied from its config, built on copies of the weights
        choice = choose_steps(model, run_cfg(), data_of(x, y), steps_per_epoch=20)
        assert choice.step_s is not None and choice.steps >= 1
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)
        assert int(model.optimizer.iterations.numpy()) == 0
        # the real optimizer then trains as a fresh one would: first step, from the untouched weights
        model.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)
        assert int(model.optimizer.iterations.numpy()) == 1
        # a model over the shadow limit is timed without the update (the shadow would double its memory)
        monkeypatch.setattr(steps_module, "SHADOW_MAX_PARAMS", 10)
        assert steps_module._shadow_update(model) is None
        assert choose_steps(model, run_cfg(), data_of(x, y), steps_per_epoch=20).step_s is not None

    def test_an_update_that_cannot_be_timed_is_left_out(self):
        class Odd(keras.optimizers.SGD):  # a user's optimizer whose update fails inside the timed loop
            def update_step(self, gradient, variable, learning_rate):
                raise RuntimeError("not in a while loop")

        model, x, y = tiny()
        model.compile(optimizer=Odd(0.01), loss="sparse_categorical_crossentropy")
        choice = choose_steps(model, run_cfg(), data_of(x, y), steps_per_epoch=20)
        assert choice.step_s is not None and "could not time" not in choice.reason

    def test_explicit_integer_wins_and_multi_worker_keeps_one(self):
        model, x, y = tiny()
        choice = choose_steps(model, run_cfg(steps_per_execution=3), data_of(x, y), steps_per_epoch=20)
        assert (choice.steps, choice.step_s, model.steps_per_execution) == (3, None, 3)
        choice = choose_steps(model, run_cfg(steps_per_execution=1_000_000), data_of(x, y), steps_per_epoch=20)
        assert (choice.steps, model.steps_per_execution) == (20, 20) and "capped at an epoch" in choice.reason
        assert choose_steps(model, run_cfg(), data_of(x, y), 20, distributed=True).steps == 1


class TestCountersAndCommands:
    """With the chosen N, events count steps (not executions) and a stop acts at the end of the execution."""

    def test_counters_exact_in_steps(self):
        model, x, y = tiny(samples=156)  # 20 steps of 8, the last one short (4 samples)
        choice = choose_steps(model, run_cfg(execution_ms=10_000), data_of(x, y), steps_per_epoch=20)
        assert choice.steps == 5
        events: list[ev.Event] = []
        bridge = Bridge(CallbackSink(events.append), Control(), interval=0.0, batch_size=8)
        rec = Steps()
        history = model.fit(x, y, batch_size=8, epochs=2, callbacks=[bridge, rec], verbose=0)
        assert [(b, e) for ep, b, e in rec.calls if ep == 0] == [(0, 4), (5, 9), (10, 14), (15, 19)]
        batches = [(e.epoch, e.step, e.steps) for e in events if isinstance(e, ev.Batch)]
        assert batches == [(ep, s, 20) for ep in (0, 1) for s in (5, 10, 15)]
        assert len(history.history["loss"]) == 2 and int(model.optimizer.iterations.numpy()) == 40

    def test_stop_acts_at_the_end_of_the_execution_in_flight(self):
        model, x, y = tiny()
        choose_steps(model, run_cfg(execution_ms=10_000), data_of(x, y), steps_per_epoch=20)  # N = 5
        control, events = Control(), []
        rec = Steps(control, at=5)
        model.fit(x, y, batch_size=8, epochs=3, verbose=0,
                  callbacks=[Bridge(CallbackSink(events.append), control), rec])  # fmt: skip
        (stopping,) = [e for e in events if isinstance(e, ev.Stopping)]
        assert (stopping.epoch, stopping.step) == (0, 10)  # steps 5-9 ran to their end, nothing after
        assert rec.calls[-1] == (0, 5, 9) and int(model.optimizer.iterations.numpy()) == 10


class TestRetune:
    """A step far off the calibration re-tunes N once, at the next epoch's start, without losing a step."""

    def test_retune_once_at_an_epoch_start(self):
        model, x, y = tiny(samples=320)  # 40 steps an epoch
        model.steps_per_execution = 2
        events: list[ev.Event] = []
        seen: list[int] = []
        # the "calibration" claims a step costs 1 ns, so the real ones are far slower: N must shrink to fit 1 ms
        auto = AutoSteps(StepsChoice(2, 1e-9, "test"), execution_ms=0.001, steps_per_epoch=40,
                         sink=CallbackSink(events.append), on_change=seen.append)  # fmt: skip
        rec = Steps()
        bridge = Bridge(CallbackSink(events.append), Control(), interval=0.0, batch_size=8)
        model.fit(x, y, batch_size=8, epochs=3, callbacks=[auto, bridge, rec], verbose=0)
        assert seen == [1] and auto.retuned and model.steps_per_execution == 1
        # each epoch announces the N it runs with, so the header follows the re-tune
        assert [e.steps_per_execution for e in events if isinstance(e, ev.EpochStarted)] == [2, 1, 1]
        (log,) = [e for e in events if isinstance(e, ev.Log)]
        assert log.message.startswith("auto: re-tuned to 1 step per execution (was 2;")
        for epoch, n in ((0, 2), (1, 1), (2, 1)):
            calls = [(b, e) for ep, b, e in rec.calls if ep == epoch]
            assert calls == [(s, s + n - 1) for s in range(0, 40, n)]
        assert int(model.optimizer.iterations.numpy()) == 120
