"""engine.session: one real run end to end; stops, schedules, failures and bad input, on tiny data."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from engine import events as ev
from engine.config_io import load_config, parse_config
from engine.control import CallbackSink, Command, Control
from engine.errors import DataError, ModelError, UserError
from engine.control_dir import send_command
from engine.runs import read_events, read_status
from engine.session import Prepared, prepare, train

ROOT = Path(__file__).resolve().parents[2]


class Recorder(CallbackSink):
    """Collects events; ``on`` runs a hook for each (on the training thread)."""

    def __init__(self, on: Any = None) -> None:
        self.events: list[ev.Event] = []
        self._on = on
        super().__init__(self._record)

    def _record(self, event: ev.Event) -> None:
        self.events.append(event)
        if self._on is not None:
            self._on(event)

    def of(self, kind: type[ev.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def run_tiny(cfg: Any, tmp: Path, **kwargs: Any):
    sink = kwargs.pop("sink", None) or Recorder()
    result = train(cfg, sink=sink, runs_dir=tmp / "runs", capture_output=False, **kwargs)
    return result, sink


# ---------------------------------------------------------------- a finished run
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from engine.config_io import load_config as load

    cfg = load(ROOT / "sample_configs" / "spirals.yaml",
               ["data.samples=300", "fit.epochs=3", "callbacks.early_stopping=null"])  # fmt: skip
    tmp = tmp_path_factory.mktemp("session")
    result, sink = run_tiny(cfg, tmp)
    return cfg, result, sink


# ---------------------------------------------------------------- learning-rate schedules
SCHEDULED = (
    "fit.epochs=4",
    "callbacks.lr_schedule={exponential: {initial: 0.02, rate: 0.5}}",
)


# ---------------------------------------------------------------- failures
class Boom(keras.layers.Layer):
    """Fine at build time, raises as soon as fit traces a training step."""

    def call(self, x, training=None):
        if training:
            raise RuntimeError("boom in training")
        return x


class TestFinishedRun:
    """One real run to the end: its result, events and files."""

    def test_result_of_a_finished_run(self, finished):
        cfg, result, sink = finished
        assert result.status == "finished" and result.reason is None and result.error is None
        assert result.epochs_completed == 3 and len(result.history) == 3
        assert result.model_path == result.run_dir / "model.keras" and result.model_path.exists()
        assert set(result.evaluation) == {"test_loss", "test_accuracy"}
        assert set(result.best) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert result.best["val_loss"] == min(row["val_loss"] for row in result.history)
        assert result.best["accuracy"] == max(row["accuracy"] for row in result.history)

    def test_the_sink_sees_exactly_what_events_jsonl_records(self, finished):
        _, result, sink = finished
        assert read_events(result.run_dir) == sink.events
        types = [e.type for e in sink.events]
        assert types[0] == "run_started" and types[-1] == "run_ended"
        assert types.count("epoch_started") == types.count("epoch_ended") == 3

    def test_run_started_describes_the_run(self, finished):
        cfg, result, sink = finished
        (started,) = sink.of(ev.RunStarted)
        assert started.run_id == result.run_dir.name and started.run_dir == str(result.run_dir)
        assert (started.name, started.epochs, started.initial_epoch, started.batch_size) == ("spirals-mlp", 3, 0, 32)
        assert (started.train_samples, started.val_samples) == (210, 60)
        assert started.steps_per_epoch == math.ceil(210 / 32)
        assert started.metrics == ("loss", "accuracy", "val_loss", "val_accuracy")
        assert started.learning_rate == pytest.approx(0.005) and started.params == 8642
        assert (started.strategy, started.replicas, started.device) == ("default", 1, "cpu")

    def test_epoch_ended_carries_train_and_validation_metrics(self, finished):
        _, result, sink = finished
        ended = sink.of(ev.EpochEnded)
        assert [e.epoch for e in ended] == [0, 1, 2]
        for e in ended:
            assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(e.logs)
            assert e.learning_rate == pytest.approx(0.005)
        assert [e.logs["val_loss"] for e in ended] == [row["val_loss"] for row in result.history]
        (end,) = sink.of(ev.RunEnded)
        assert (end.status, end.epochs_completed, end.model_path) == ("finished", 3, str(result.model_path))
        assert end.best == result.best and end.test == result.evaluation

    def test_best_checkpoint_events(self, finished):
        _, result, sink = finished
        saved = sink.of(ev.CheckpointSaved)
        assert saved and all(e.kind == "best" for e in saved)
        assert {e.path for e in saved} == {str(result.run_dir / "checkpoints" / "best.keras")}


class TestStopping:
    """Stops, pauses and commands reach training at a batch boundary."""

    def test_stop_from_the_sink_stops_the_run(self, tiny_config, tmp_path: Path):
        control = Control()

        def stop_after_first_epoch(event: ev.Event) -> None:
            if isinstance(event, ev.EpochEnded):
                control.stop()

        cfg = tiny_config("fit.epochs=50")
        result, sink = run_tiny(cfg, tmp_path, sink=Recorder(stop_after_first_epoch), control=control)
        assert (result.status, result.reason) == ("stopped", "user")
        assert result.epochs_completed == 1 and result.model_path is not None and result.model_path.exists()
        assert [e.reason for e in sink.of(ev.Stopping)] == ["user"]
        assert sink.events[-1] == sink.of(ev.RunEnded)[0] and sink.events[-1].status == "stopped"
        assert read_status(result.run_dir)["state"] == "stopped"
        assert set(result.evaluation) == {"test_loss", "test_accuracy"}  # a stopped run is still scored

    def test_early_stopping_finishes_with_a_reason(self, tiny_config, tmp_path: Path):
        cfg = tiny_config("fit.epochs=20", "callbacks.early_stopping={monitor: loss, patience: 0, min_delta: 100}")
        result, sink = run_tiny(cfg, tmp_path)
        assert (result.status, result.reason) == ("finished", "early_stopping")
        assert result.epochs_completed == 2
        assert [e.reason for e in sink.of(ev.Stopping)] == ["early_stopping"]

    def test_a_command_dropped_in_the_control_folder_reaches_training(self, tiny_config, tmp_path: Path):
        run_dir: list[Path] = []

        def on_event(event: ev.Event) -> None:
            if isinstance(event, ev.RunStarted):
                run_dir.append(Path(event.run_dir))
                send_command(run_dir[0], Command("lr_scale", 0.5, source="control"))
            elif isinstance(event, ev.LrChanged) and event.source == "control":
                send_command(run_dir[0], Command("stop", source="control"))

        sink = Recorder(on_event)
        cfg = tiny_config("fit.epochs=500", "data.samples=2000")
        result, _ = run_tiny(cfg, tmp_path, sink=sink)
        (changed,) = sink.of(ev.LrChanged)
        assert (changed.source, changed.old, changed.new) == ("control", pytest.approx(0.005), pytest.approx(0.0025))
        assert (result.status, result.reason) == ("stopped", "control")
        assert list((result.run_dir / "control").iterdir()) == []

    def test_status_json_says_paused_while_paused(self, tiny_config, tmp_path: Path):
        control = Control()
        paused = threading.Event()

        def on_event(event: ev.Event) -> None:
            if isinstance(event, ev.EpochEnded) and event.epoch == 0:
                control.pause()
            elif isinstance(event, ev.Paused):
                paused.set()

        cfg = tiny_config("fit.epochs=50")
        worker = threading.Thread(target=run_tiny, args=(cfg, tmp_path), kwargs={"sink": Recorder(on_event), "control": control})
        worker.start()
        try:
            assert paused.wait(60)
            time.sleep(0.3)
            (run_dir,) = (tmp_path / "runs").iterdir()
            state = read_status(run_dir)["state"]
        finally:
            control.stop()
            worker.join(60)
        assert state == "paused"

    def test_train_in_a_thread_like_the_app(self, tiny_config, tmp_path: Path):
        """The app runs ``train`` in a worker thread and reads a queue; stop from the UI thread."""
        from engine.control import QueueSink

        sink = QueueSink()
        control = Control()
        cfg = tiny_config("fit.epochs=500", "data.samples=2000")
        box: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: box.update(result=train(cfg, sink=sink, control=control, runs_dir=tmp_path, capture_output=False))
        )
        worker.start()
        seen: list[ev.Event] = []
        deadline = time.monotonic() + 60
        while not any(isinstance(e, ev.EpochEnded) for e in seen) and time.monotonic() < deadline:
            seen.append(sink.queue.get(timeout=60))
        control.stop()
        worker.join(60)
        assert not worker.is_alive()
        assert box["result"].status == "stopped"
        while not sink.queue.empty():
            seen.append(sink.queue.get())
        assert seen[0].type == "run_started" and seen[-1].type == "run_ended"


class TestSchedules:
    """Learning-rate schedules and the callbacks' monitors."""

    def test_lr_schedule_sets_each_epoch_and_reports_changes(self, tiny_config, tmp_path: Path):
        result, sink = run_tiny(tiny_config(*SCHEDULED), tmp_path)
        assert result.status == "finished"
        lrs = [e.learning_rate for e in sink.of(ev.EpochEnded)]
        assert lrs == pytest.approx([0.02 * 0.5**e for e in range(4)], rel=1e-6)
        changes = sink.of(ev.LrChanged)
        assert [c.source for c in changes] == ["schedule"] * 4  # 0.005 (compile) -> 0.02, then each epoch
        assert [c.new for c in changes] == pytest.approx(lrs, rel=1e-6)

    def test_user_lr_change_scales_the_schedule(self, tiny_config, tmp_path: Path):
        control = Control()
        control.lr_scale(0.5)  # queued before fit: applied at the first batch boundary
        result, sink = run_tiny(tiny_config(*SCHEDULED), tmp_path, control=control)
        lrs = [e.learning_rate for e in sink.of(ev.EpochEnded)]
        assert lrs == pytest.approx([0.5 * 0.02 * 0.5**e for e in range(4)], rel=1e-6)
        user = [c for c in sink.of(ev.LrChanged) if c.source == "user"]
        assert len(user) == 1 and user[0].new == pytest.approx(user[0].old * 0.5)

    def test_step_decay_follows_the_classic_formula(self, tiny_config, tmp_path: Path):
        # The issue's (and the classic Keras docs') step decay: initial * drop ** floor((1 + epoch) / every).
        cfg = tiny_config("fit.epochs=4", "callbacks.lr_schedule={step_decay: {initial: 0.04, drop: 0.5, every: 2}}")
        result, sink = run_tiny(cfg, tmp_path)
        lrs = [e.learning_rate for e in sink.of(ev.EpochEnded)]
        assert lrs == pytest.approx([0.04 * 0.5 ** ((1 + e) // 2) for e in range(4)], rel=1e-6)

    def test_a_missing_monitor_is_a_warning_naming_the_metrics(self, tiny_config, tmp_path: Path):
        """A misspelt monitor warns, and training still runs to the end (Keras' "auto" mode would raise)."""
        cfg = tiny_config(
            "fit.epochs=3",
            "callbacks.early_stopping={monitor: val_acc, patience: 0}",
            "callbacks.reduce_lr_on_plateau={monitor: val_los, patience: 0}",
        )
        with pytest.warns(UserWarning):  # Keras' own per-epoch complaint
            result, sink = run_tiny(cfg, tmp_path)
        assert (result.status, result.error, result.epochs_completed) == ("finished", None, 3)
        warnings = [e.message for e in sink.of(ev.Log) if e.level == "warning"]
        assert warnings == [
            "callbacks.reduce_lr_on_plateau.monitor: 'val_los' is not a metric of this run (did you mean 'val_loss'?); "
            "available: loss, accuracy, val_loss, val_accuracy",
            "callbacks.early_stopping.monitor: 'val_acc' is not a metric of this run (did you mean 'val_accuracy'?); "
            "available: loss, accuracy, val_loss, val_accuracy",
        ]


class TestFailures:
    """A failure in training is an error event, a failed status and error.txt; train returns."""

    def test_a_layer_raising_in_fit_fails_the_run(self, tiny_config, tmp_path: Path):
        cfg = tiny_config()
        prep = prepare(cfg)
        inputs = keras.Input((2,))
        outputs = keras.layers.Dense(2, activation="softmax")(Boom()(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        result, sink = run_tiny(cfg, tmp_path, prepared=Prepared(cfg, prep.data, model, prep.strategy, prep.device))

        assert result.status == "failed" and result.error is not None and "boom in training" in result.error
        text = (result.run_dir / "error.txt").read_text()
        assert text.startswith("Traceback (most recent call last):") and "RuntimeError: " in text and "boom in training" in text
        (error,) = sink.of(ev.Error)
        assert error.fatal and error.command is None and "boom in training" in error.message
        assert error.traceback is not None and error.traceback == text
        assert sink.events[-1] == sink.of(ev.RunEnded)[0] and sink.events[-1].status == "failed"
        status = read_status(result.run_dir)
        assert status["state"] == "failed" and "boom in training" in status["error"]
        assert read_events(result.run_dir)[-1].type == "run_ended"

    def test_failure_messages_carry_no_terminal_escape_codes(self, tiny_config, tmp_path: Path):
        cfg = tiny_config()
        prep = prepare(cfg)
        inputs = keras.Input((2,))
        model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(Boom()(inputs)))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        result, sink = run_tiny(cfg, tmp_path, prepared=Prepared(cfg, prep.data, model, prep.strategy, prep.device))
        assert result.status == "failed"
        assert "\x1b[" not in read_status(result.run_dir)["error"]
        assert "\x1b[" not in sink.of(ev.Error)[0].message

    def test_a_loss_that_becomes_nan_fails_the_run(self, tmp_path: Path):
        # NaN in the data itself is refused before training (tests/engine/test_data_checks.py); finite data
        # whose loss overflows is what is left for the NaN guard.
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 3)).astype("float32")
        y = np.full(64, 1e30, dtype="float32")  # finite, but (1e30)² overflows float32
        np.savez(tmp_path / "d.npz", x=x, y=y)
        (tmp_path / "c.yaml").write_text(
            "name: bad-loss\ndata: {source: npz, path: d.npz, x: x, y: y}\n"
            "model: {layers: [{Dense: {units: 1}}]}\ncompile: {loss: mse, metrics: [mae]}\nfit: {epochs: 5}\n"
        )
        result, sink = run_tiny(load_config(tmp_path / "c.yaml"), tmp_path)
        assert (result.status, result.reason) == ("failed", "nan")
        assert result.error == "the loss became NaN or infinite in epoch 1; training stopped"
        assert result.epochs_completed == 1
        (error,) = [e for e in sink.of(ev.Error) if e.fatal]
        assert error.message == result.error
        end = sink.of(ev.RunEnded)[0]
        assert (end.status, end.reason) == ("failed", "nan")
        # What the CLI points at ("details: <run>/error.txt") must exist.
        assert result.error in (result.run_dir / "error.txt").read_text()
        assert read_status(result.run_dir)["state"] == "failed"
        # The reason survives the trip through events.jsonl as the string it is.
        assert read_events(result.run_dir)[-1].reason == "nan"


class TestStreamedData:
    """A streamed source trains and validates."""

    def test_a_streamed_hdf5_run_counts_steps_and_validates(self, tmp_path: Path):
        import h5py

        rng = np.random.default_rng(0)
        with h5py.File(tmp_path / "d.h5", "w") as f:
            f["x"] = rng.normal(size=(100, 3)).astype("float32")
            f["y"] = (np.arange(100) % 2).astype("int32")
        (tmp_path / "c.yaml").write_text(
            "name: streamed\ndata: {source: hdf5, path: d.h5, stream: true, validation_split: 0.2}\n"
            "model: {layers: [{Dense: {units: 2, activation: softmax}}]}\nfit: {epochs: 2, batch_size: 16}\n"
        )
        result, sink = run_tiny(load_config(tmp_path / "c.yaml"), tmp_path)
        assert result.status == "finished" and result.epochs_completed == 2
        assert sink.of(ev.RunStarted)[0].steps_per_epoch == 5  # 80 training rows in batches of 16
        assert all(e.steps == 5 and 0 < e.step <= 5 for e in sink.of(ev.Batch))
        assert {"loss", "val_loss"} <= set(sink.of(ev.EpochEnded)[-1].logs)
        assert set(result.evaluation) == {"val_loss", "val_accuracy"}


class TestBadInput:
    """Bad data or model raise UserError before anything is written."""

    @pytest.mark.parametrize(
        ("raw", "error", "key"),
        [
            ({"data": {"source": "csv", "path": "/nonexistent/x.csv"}, "model": {"layers": [{"Dense": {"units": 2}}]}},
             DataError, "data.path"),
            ({"data": {"name": "spirals"}, "model": {"input_shape": [2], "layers": [{"Dense": {"units": 3, "activation": "softmax"}}]}},
             ModelError, "model.layers[0].Dense.units"),
            ({"data": {"name": "spirals"}, "model": {"input_shape": [2], "layers": [{"Dense": {"units": 2}}, {"Conv2D": {"filters": 1, "kernel_size": 1}}]}},
             ModelError, "model.layers[1].Conv2D"),
            ({"data": {"name": "spirals"}, "model": {"input_shape": [3], "layers": [{"Dense": {"units": 2}}]}},
             ModelError, "model.input_shape"),
        ],
        ids=["missing-data", "wrong-output-size", "shape-mismatch", "wrong-input-shape"],
    )  # fmt: skip
    def test_bad_input_raises_user_error_and_writes_nothing(self, tmp_path: Path, raw: dict, error: type, key: str):
        cfg = parse_config(raw)
        with pytest.raises(error) as info:
            train(cfg, runs_dir=tmp_path / "runs", capture_output=False)
        assert isinstance(info.value, UserError) and info.value.key == key
        assert not (tmp_path / "runs").exists()
