"""engine.callbacks.schedule: a schedule and live LR changes compose; other callbacks' changes and stops are reported."""

from __future__ import annotations

from typing import Any

import keras
import pytest

from engine import events as ev
from engine.callbacks.bridge import Bridge
from engine.callbacks.schedule import EpochSchedule, LrWatch, get_lr, set_lr
from engine.control import CallbackSink


class TestEpochSchedule:
    """An ``lr_schedule`` keeps setting the rate each epoch; a user change scales it, not replaces it."""

    def test_lr_change_under_a_schedule_keeps_the_schedule_shape(self, live):
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

    def test_set_lr_under_a_schedule_rescales_the_rest_of_it(self, live):
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


class HalveThenStop(keras.callbacks.Callback):
    """Stands in for ReduceLROnPlateau and EarlyStopping: halves the rate at epoch 2, stops after epoch 3."""

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if epoch == 2:
            set_lr(self.model.optimizer, get_lr(self.model.optimizer) / 2)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch == 3:
            self.model.stop_training = True


class TestLrWatch:
    """Placed last, LrWatch reports another callback's rate change and early stop through the bridge."""

    def test_other_callbacks_changes_and_stops_become_events(self, tiny_model):
        events: list[ev.Event] = []
        model, x, y = tiny_model()
        bridge = Bridge(CallbackSink(events.append))
        history = model.fit(x, y, batch_size=32, epochs=10, verbose=0,
                            callbacks=[bridge, HalveThenStop(), LrWatch(bridge, "plateau")])  # fmt: skip
        assert len(history.history["loss"]) == 4
        (changed,) = [e for e in events if isinstance(e, ev.LrChanged)]
        assert (changed.source, changed.epoch) == ("plateau", 2)
        assert changed.new == pytest.approx(changed.old / 2)
        (stopping,) = [e for e in events if isinstance(e, ev.Stopping)]
        assert (stopping.reason, stopping.epoch) == ("early_stopping", 3)
        assert bridge.stop_reason == "early_stopping"
