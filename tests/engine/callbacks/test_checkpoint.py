"""engine.callbacks.checkpoint: best.keras follows the monitored metric's own direction; every save is atomic."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from engine import events as ev
from engine.callbacks.checkpoint import BestCheckpoint, save_model_atomic
from engine.control import CallbackSink


def regression() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """A linear model learning y = x0, with an error metric whose name sounds like a score."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse",
                  metrics=[keras.metrics.MeanAbsoluteError(name="accuracy_gap")])  # fmt: skip
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    return model, x, x[:, :1]


class TestSaveModelAtomic:
    """save_model_atomic leaves a loadable file under the final name and no temporary one."""

    def test_saves_a_loadable_model_and_no_temp_file(self, tmp_path: Path):
        model, x, _ = regression()
        target = tmp_path / "deep" / "model.keras"
        assert save_model_atomic(model, target) == target
        assert [p.name for p in target.parent.iterdir()] == ["model.keras"]
        assert keras.models.load_model(target).predict(x[:2], verbose=0).shape == (2, 1)


class TestBestCheckpoint:
    """best.keras is rewritten only when the monitored metric improves in the direction the model declares."""

    def test_auto_mode_asks_the_model(self, tmp_path: Path):
        model, x, y = regression()
        events: list[ev.Event] = []
        checkpoint = BestCheckpoint(tmp_path, monitor="accuracy_gap", sink=CallbackSink(events.append))
        history = model.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0, callbacks=[checkpoint])
        values = history.history["accuracy_gap"]
        improved = [i for i, v in enumerate(values) if v < min(values[:i], default=float("inf"))]
        assert len(improved) >= 2, values  # the model learns, so the error falls
        saved = [e for e in events if isinstance(e, ev.CheckpointSaved)]
        assert [(e.epoch, e.kind) for e in saved] == [(i, "best") for i in improved]
        assert checkpoint.best == pytest.approx(min(values))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]

    def test_an_explicit_mode_wins(self, tmp_path: Path):
        model, x, y = regression()
        events: list[ev.Event] = []
        checkpoint = BestCheckpoint(tmp_path, monitor="accuracy_gap", mode="max", sink=CallbackSink(events.append))
        history = model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0, callbacks=[checkpoint])
        values = history.history["accuracy_gap"]
        improved = [i for i, v in enumerate(values) if v > max(values[:i], default=-float("inf"))]
        assert [e.epoch for e in events if isinstance(e, ev.CheckpointSaved)] == improved

    def test_every_epoch_without_save_best_only(self, tmp_path: Path):
        model, x, y = regression()
        events: list[ev.Event] = []
        checkpoint = BestCheckpoint(tmp_path, save_best_only=False, sink=CallbackSink(events.append))
        model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[checkpoint])
        assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-001.keras", "epoch-002.keras", "epoch-003.keras"]
        assert [e.kind for e in events if isinstance(e, ev.CheckpointSaved)] == ["epoch"] * 3

    def test_a_missing_metric_warns_once_per_fit_listing_what_exists(self, tmp_path: Path):
        model, x, y = regression()
        events: list[ev.Event] = []
        checkpoint = BestCheckpoint(tmp_path, monitor="val_loss", sink=CallbackSink(events.append))
        for _ in range(2):
            model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[checkpoint])
        warnings = [e for e in events if isinstance(e, ev.Log)]
        assert [w.message for w in warnings] == [
            "model_checkpoint: metric 'val_loss' is not available; available metrics are: accuracy_gap, loss"
        ] * 2
        assert warnings[0].level == "warning"
        assert list(tmp_path.iterdir()) == [] and checkpoint.best is None

    def test_without_a_sink_the_warning_is_a_python_warning(self, tmp_path: Path):
        model, x, y = regression()
        with pytest.warns(UserWarning, match="available metrics are: accuracy_gap, loss"):
            model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[BestCheckpoint(tmp_path, monitor="val_mae")])
        assert list(tmp_path.iterdir()) == []  # nothing to compare: nothing saved
