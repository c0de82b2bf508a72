"""engine.lifecycle: a run's life around a plain ``model.fit`` that no config describes."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from engine import events as ev
from engine.config_io import parse_config
from engine.control import CallbackSink, Command, CommandName
from engine.lifecycle import RunLifecycle, short_message
from engine.runs import create_run_dir, read_events, read_status


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def tiny_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


@pytest.fixture
def run(tmp_path: Path):
    cfg = parse_config({"name": "plain", "model": {"layers": [{"Dense": {"units": 2}}]}})
    return create_run_dir(cfg, tmp_path)


def open_run(run, events: list[ev.Event], **kwargs) -> RunLifecycle:
    return RunLifecycle(run, sink=CallbackSink(events.append), capture_output=False, **kwargs)


class TestAroundAnyFit:
    """A user's own model and fit get the run directory kwb train writes."""

    def test_a_finished_fit(self, run):
        events: list[ev.Event] = []
        model, (x, y) = tiny_model(), tiny_data()
        with open_run(run, events) as life:
            bridge = life.make_bridge(batch_size=16)
            life.started(model, name="plain", epochs=2)
            model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[bridge])
            result = life.conclude()
        assert result.status == "finished" and result.epochs_completed == 2
        status = read_status(run.path)
        assert status["state"] == "finished" and status["epochs_done"] == 2
        assert set(status["best"]) >= {"loss", "accuracy"}
        recorded = read_events(run.events)
        assert [type(e) for e in recorded] == [type(e) for e in events]
        assert isinstance(recorded[0], ev.RunStarted) and recorded[0].run_dir == str(run.path)
        assert recorded[0].params == model.count_params()
        assert sum(isinstance(e, ev.RunEnded) for e in recorded) == 1
        assert not run.error.exists()

    def test_a_stop_command_makes_a_stopped_run(self, run):
        events: list[ev.Event] = []
        model, (x, y) = tiny_model(), tiny_data()
        with open_run(run, events) as life:
            bridge = life.make_bridge()
            life.started(model, epochs=5)
            life.control.send(Command(CommandName.STOP))
            model.fit(x, y, epochs=5, verbose=0, callbacks=[bridge])
            result = life.conclude()
        assert result.status == "stopped" and result.reason == "user"
        assert read_status(run.path)["state"] == "stopped"


class TestClosesOnce:
    """However the block ends, status, run_ended and error.txt are written exactly once."""

    def test_an_exception_is_reported_then_raised(self, run):
        events: list[ev.Event] = []
        model = tiny_model()
        with pytest.raises(ValueError, match="bad batch"):
            with open_run(run, events) as life:
                life.make_bridge()
                life.started(model, epochs=1)
                raise ValueError("bad batch \x1b[31mred\x1b[0m")
        errors = [e for e in events if isinstance(e, ev.Error)]
        assert len(errors) == 1 and errors[0].fatal and "\x1b" not in errors[0].message
        assert "Traceback" in errors[0].traceback
        assert [type(e) for e in events].count(ev.RunEnded) == 1 and isinstance(events[-1], ev.RunEnded)
        assert read_status(run.path)["state"] == "failed"
        assert "ValueError: bad batch" in run.error.read_text()

    def test_reraise_false_returns_the_failed_result(self, run):
        events: list[ev.Event] = []
        with open_run(run, events, reraise=False) as life:
            raise RuntimeError("boom")
        assert life.result.status == "failed" and life.result.error == "RuntimeError: boom"
        assert read_status(run.path)["state"] == "failed"

    def test_keyboard_interrupt_is_always_raised(self, run):
        events: list[ev.Event] = []
        with pytest.raises(KeyboardInterrupt):
            with open_run(run, events, reraise=False):
                raise KeyboardInterrupt
        assert [type(e) for e in events].count(ev.RunEnded) == 1
        status = read_status(run.path)
        assert (status["state"], status["reason"], status["error"]) == ("stopped", "interrupt", None)
        assert not run.error.exists()

    def test_a_fit_that_never_started_still_closes(self, run):
        events: list[ev.Event] = []
        with open_run(run, events):
            pass
        assert [type(e) for e in events] == [ev.RunEnded]
        assert read_status(run.path)["state"] == "failed"  # nobody concluded: not a success

    def test_the_control_watcher_stops_with_the_run(self, run):
        import threading

        def live() -> int:
            return sum(t.name in ("kwb-control-watcher", "kwb-heartbeat") for t in threading.enumerate())

        events: list[ev.Event] = []
        before = live()
        with open_run(run, events) as life:
            life.make_bridge()
            life.started(tiny_model(), epochs=1)
            assert live() == before + 2
        assert live() == before


class TestShortMessage:
    """Messages for the event log: one line, no colour codes, bounded."""

    def test_short_message(self):
        assert short_message("a\n  b\x1b[1m c") == "a b c"
        assert short_message("x" * 600) == "x" * 499 + "…"


class TestTrainingTime:
    """A run's time leaves its pauses out, the same in run_ended, status.json and kwb runs."""

    def test_a_pause_is_not_counted(self, run):
        import threading
        import time

        from engine.runs import run_info

        events: list[ev.Event] = []
        model, (x, y) = tiny_model(), tiny_data()
        began = time.monotonic()
        with open_run(run, events) as life:
            bridge = life.make_bridge()
            life.started(model, epochs=2)
            life.control.pause()  # taken at the first batch; resumed 1.5 s later
            threading.Timer(1.5, life.control.resume).start()
            model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[bridge])
            life.conclude()
        wall = time.monotonic() - began
        resumed = next(e for e in events if isinstance(e, ev.Resumed))
        ended = events[-1]
        assert isinstance(ended, ev.RunEnded) and resumed.paused_s >= 1.0
        assert 0 < ended.duration_s <= wall - resumed.paused_s
        assert read_status(run.path)["duration_s"] == round(ended.duration_s, 3)
        assert run_info(run.path).duration_s == round(ended.duration_s, 3)  # kwb runs, kwb show, the Runs screen

    def test_a_live_run_counts_to_its_heartbeat_without_its_pauses(self, run):
        from engine.runs import run_info

        run.write_status(state="paused", started=100.0, train_started=110.0, heartbeat=200.0, paused_s=30.0, paused_at=180.0)
        assert run_info(run.path).duration_s == 200.0 - 110.0 - 30.0 - 20.0


class TestResumedTime:
    """A resumed run's time is the sum of its processes' training, not the gap between them."""

    def test_earlier_training_is_added(self, run):
        events: list[ev.Event] = []
        with open_run(run, events, trained_before_s=100.0) as life:
            life.make_bridge()
            life.started(tiny_model(), epochs=1)
        (ended,) = [e for e in events if isinstance(e, ev.RunEnded)]
        assert 100.0 <= ended.duration_s < 110.0
        assert 100.0 <= read_status(run.path)["duration_s"] < 110.0

    def test_a_live_resumed_run_counts_from_its_earlier_time(self):
        from engine.runs import training_seconds

        status = {"train_started": 1000.0, "heartbeat": 1010.0, "paused_s": 2.0, "trained_before_s": 30.0}
        assert training_seconds(status) == 38.0
