"""engine.callbacks.factory: the configured callbacks around the bridge, and the learning-rate schedules."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras
import pytest

from engine import events as ev
from engine.callbacks.bridge import Bridge
from engine.callbacks.checkpoint import AtomicBackupAndRestore, BestCheckpoint
from engine.callbacks.factory import make_callbacks, schedule_fn
from engine.callbacks.nan import QuietTerminateOnNaN
from engine.callbacks.schedule import EpochSchedule, LrWatch
from engine.config_io import parse_config
from engine.control import CallbackSink
from engine.runs import create_run_dir

MINIMAL: dict[str, Any] = {"name": "mini", "model": {"layers": [{"Dense": {"units": 2}}]}}


def config(callbacks: dict[str, Any], epochs: int = 10) -> Any:
    return parse_config({**MINIMAL, "fit": {"epochs": epochs}, "callbacks": callbacks})


class TestScheduleFn:
    """schedule_fn turns callbacks.lr_schedule into the rate for each epoch."""

    def test_no_schedule(self):
        assert schedule_fn(config({})) is None

    def test_step_decay(self):
        fn = schedule_fn(config({"lr_schedule": {"step_decay": {"initial": 0.1, "drop": 0.5, "every": 2}}}))
        assert [fn(e) for e in range(5)] == pytest.approx([0.1, 0.05, 0.05, 0.025, 0.025])

    def test_exponential(self):
        fn = schedule_fn(config({"lr_schedule": {"exponential": {"initial": 0.1, "rate": 0.5}}}))
        assert [fn(e) for e in range(3)] == pytest.approx([0.1, 0.05, 0.025])

    def test_cosine_with_warmup_spans_fit_epochs(self):
        fn = schedule_fn(config({"lr_schedule": {"cosine": {"initial": 0.1, "warmup_epochs": 2}}}, epochs=6))
        assert [fn(0), fn(1), fn(2)] == pytest.approx([0.05, 0.1, 0.1])
        assert fn(4) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 0.5)))
        assert fn(6) == pytest.approx(0.0, abs=1e-12)

    def test_piecewise(self):
        fn = schedule_fn(config({"lr_schedule": {"piecewise": {"boundaries": [2, 4], "values": [0.1, 0.01, 0.001]}}}))
        assert [fn(e) for e in range(6)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]


class TestMakeCallbacks:
    """make_callbacks: the bridge first, LrWatch last, a monitor the run does not log warned about."""

    def test_order_and_kinds(self, tmp_path: Path):
        cfg = config({"lr_schedule": {"step_decay": {"initial": 0.1}}, "early_stopping": True})
        bridge = Bridge(CallbackSink(lambda e: None))
        out = make_callbacks(cfg, create_run_dir(cfg, tmp_path), bridge, CallbackSink(lambda e: None), ["loss", "val_loss"])
        kinds = [type(c) for c in out]
        assert kinds[0] is Bridge and kinds[1] is EpochSchedule and kinds[-1] is LrWatch
        assert {keras.callbacks.EarlyStopping, QuietTerminateOnNaN, BestCheckpoint, keras.callbacks.CSVLogger,
                AtomicBackupAndRestore} <= set(kinds)  # fmt: skip
        assert out[-1].source == "schedule"

    def test_an_unknown_monitor_warns_and_gets_a_direction_from_its_name(self, tmp_path: Path):
        cfg = config({"reduce_lr_on_plateau": {"monitor": "val_acc"}, "early_stopping": {"monitor": "val_loss"}})
        events: list[ev.Event] = []
        names = ["loss", "accuracy", "val_loss", "val_accuracy"]
        out = make_callbacks(cfg, create_run_dir(cfg, tmp_path), Bridge(CallbackSink(events.append)), CallbackSink(events.append), names)
        (warning,) = [e for e in events if isinstance(e, ev.Log)]
        assert warning.message == (
            "callbacks.reduce_lr_on_plateau.monitor: 'val_acc' is not a metric of this run (did you mean "
            "'val_accuracy'?); available: loss, accuracy, val_loss, val_accuracy"
        )
        (plateau,) = [c for c in out if isinstance(c, keras.callbacks.ReduceLROnPlateau)]
        (early,) = [c for c in out if isinstance(c, keras.callbacks.EarlyStopping)]
        assert plateau.mode == "max"  # chosen here: Keras' "auto" would raise for a metric it never sees
        assert early.mode == "auto"  # a metric the run logs: Keras asks the model itself
        assert out[-1].source == "plateau"
