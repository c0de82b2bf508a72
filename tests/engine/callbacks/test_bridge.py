"""engine.callbacks.bridge: commands applied at batch boundaries and acknowledged by events, during a real ``fit``.

Every command must be acknowledged by its event (or refused with an ``error`` event),
and applied on the training thread at a batch boundary.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import keras
import pytest

from engine import events as ev
from engine.callbacks.bridge import Bridge
from engine.callbacks.schedule import get_lr
from engine.control import CallbackSink, Command, CommandError, CommandName, Control


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


class TestStop:
    """stop ends training at the next batch boundary, once, with the sender as the reason."""

    def test_stop_ends_training_at_a_batch_boundary(self, live):
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

    def test_stop_source_becomes_the_reason(self, live):
        run = live()
        run.wait_for(ev.Batch)
        run.control.send("stop", source="interrupt")
        assert run.wait_for(ev.Stopping).reason == "interrupt"
        run.finish()

    def test_stop_during_a_batch_runs_no_further_batch(self, tiny_model):
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

    def test_steps_per_execution_reports_steps_not_executions(self, tiny_model):
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


class TestLearningRate:
    """lr_scale and set_lr change the optimizer's rate on the training thread and say so."""

    def test_lr_scale_is_applied_and_acknowledged(self, live):
        run = live()
        lr = run.initial_lr
        run.wait_for(ev.EpochEnded)
        run.control.lr_scale(0.5)
        changed = run.wait_for(ev.LrChanged)
        assert changed.source == "user"
        assert changed.old == pytest.approx(lr) and changed.new == pytest.approx(lr / 2)
        assert changed.epoch is not None and changed.step is not None
        after = run.wait_for(ev.EpochEnded)
        assert after.learning_rate == pytest.approx(lr / 2) and after.logs["learning_rate"] == pytest.approx(lr / 2)
        assert get_lr(run.model.optimizer) == pytest.approx(lr / 2)
        assert run.bridge.lr_multiplier == pytest.approx(0.5)
        run.finish()

    def test_set_lr_is_applied_and_acknowledged(self, live):
        run = live()
        run.wait_for(ev.Batch)
        run.control.set_lr(0.003)
        changed = run.wait_for(ev.LrChanged)
        assert (changed.old, changed.new) == (pytest.approx(run.initial_lr), pytest.approx(0.003))
        assert run.wait_for(ev.EpochEnded).learning_rate == pytest.approx(0.003)
        run.finish()

    @pytest.mark.parametrize(
        ("name", "value"), [("lr_scale", 0), ("lr_scale", -2.0), ("set_lr", None), ("set_lr", float("nan")), ("jump", None)]
    )
    def test_bad_commands_are_refused_before_they_reach_training(self, name: str, value: float | None):
        with pytest.raises(CommandError):
            Command(name, value)
        assert not Control().pending


class TestCheckpointCommand:
    """checkpoint saves manual-NNN.keras, numbered after what is there, or is refused with a reason."""

    def test_checkpoint_saves_a_loadable_model(self, live, tmp_path: Path):
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

    def test_two_at_the_same_step_write_one_file(self, live, tmp_path: Path):
        run = live()
        run.wait_for(ev.Batch, lambda e: e.step > 0)
        run.control.pause()
        paused = run.wait_for(ev.Paused)
        run.control.checkpoint()
        run.control.checkpoint()  # "cc" pasted: the same weights, asked for twice
        first, second = run.wait_for(ev.CheckpointSaved), run.wait_for(ev.CheckpointSaved)
        assert first.path == second.path and (second.epoch, second.step) == (paused.epoch, paused.step)
        assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["manual-001.keras"]
        run.control.resume()
        run.finish()

    def test_checkpoint_without_a_folder_is_refused(self, live):
        run = live(checkpoint_dir=None)
        run.wait_for(ev.Batch)
        run.control.checkpoint()
        refused = run.wait_for(ev.Error)
        assert refused.command == "checkpoint" and refused.message == "this run has no checkpoint folder"
        assert type(refused.command) is str  # events carry the plain word, as in events.jsonl
        assert not refused.fatal
        run.wait_for(ev.EpochEnded)  # training goes on
        run.finish()

    def test_checkpoint_numbering_continues_after_existing_files(self, live, tmp_path: Path):
        folder = tmp_path / "checkpoints"
        folder.mkdir()
        (folder / "manual-001.keras").write_bytes(b"earlier run")
        run = live()
        run.wait_for(ev.Batch)
        run.control.checkpoint()
        assert run.wait_for(ev.CheckpointSaved).path.endswith("manual-002.keras")
        run.finish()
        assert (folder / "manual-001.keras").read_bytes() == b"earlier run"


class TestPauseResume:
    """pause blocks the training thread until resume or stop, still serving the other commands."""

    def test_pause_blocks_training_until_resume(self, live):
        run = live()
        run.wait_for(ev.EpochEnded)
        run.control.pause()
        paused = run.wait_for(ev.Paused)
        assert run.bridge.paused
        quiet = run.drain(0.6)
        assert not [e for e in quiet if isinstance(e, (ev.Batch, ev.EpochEnded, ev.EpochStarted))], quiet

        # Other commands are still served while paused; a second pause is refused.
        run.control.lr_scale(0.5)
        assert run.wait_for(ev.LrChanged).new == pytest.approx(run.initial_lr / 2)
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

    def test_commands_sent_with_a_pause_are_served_during_it(self, live):
        run = live()
        run.wait_for(ev.Batch)
        run.control.pause()  # "pl" pasted in one write: drained together at one batch boundary
        run.control.lr_scale(0.5)
        run.wait_for(ev.Paused)
        assert run.wait_for(ev.LrChanged, timeout=5).new == pytest.approx(run.initial_lr / 2)
        assert run.bridge.paused and not any(isinstance(e, ev.Resumed) for e in run.seen)
        run.control.resume()
        run.wait_for(ev.Resumed)
        run.finish()

    def test_stop_while_paused_ends_the_run(self, live):
        run = live()
        run.wait_for(ev.Batch)
        run.control.pause()
        run.wait_for(ev.Paused)
        run.control.stop()
        assert run.wait_for(ev.Stopping).reason == "user"
        run.finish(timeout=10)

    def test_resume_when_not_paused_is_refused(self, live):
        run = live()
        run.wait_for(ev.Batch)
        run.control.resume()
        refused = run.wait_for(ev.Error)
        assert refused.command == "resume" and refused.message == "not paused" and not refused.fatal
        run.wait_for(ev.EpochEnded)
        events = run.finish()
        assert not any(isinstance(e, (ev.Paused, ev.Resumed)) for e in events)


class TestEveryCommandIsAnswered:
    """Each CommandName has a handler, and what it emits is what ``Command.acknowledged_by`` expects."""

    def test_every_command_name_is_acknowledged(self, live):
        run = live()
        run.wait_for(ev.Batch)
        order = [CommandName.PAUSE, CommandName.LR_SCALE, CommandName.SET_LR, CommandName.CHECKPOINT,
                 CommandName.RESUME, CommandName.STOP]  # fmt: skip
        assert set(order) == set(CommandName)
        for name in order:
            cmd = run.control.send(name, 0.5 if name.takes_value else None)
            answer = run.wait_for(ev.Event, lambda e, cmd=cmd: cmd.acknowledged_by(e) or cmd.refused_by(e))
            assert cmd.acknowledged_by(answer), (name, answer)
        run.finish()


class TestEvents:
    """Batch events are throttled by the clock; epoch events carry the full logs; state resets per fit."""

    def test_batch_events_are_throttled(self, live):
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

    def test_epoch_events_carry_full_logs(self, live):
        run = live()
        started = run.wait_for(ev.EpochStarted)
        ended = run.wait_for(ev.EpochEnded)
        assert (started.epoch, started.epochs) == (0, 100_000) and ended.epoch == 0
        assert set(ended.logs) == {"loss", "learning_rate"}
        assert math.isfinite(ended.logs["loss"]) and ended.duration_s > 0
        run.finish()
        assert run.bridge.epochs_completed == len(run.bridge.history)
        assert run.bridge.history[0] == ended.logs

    def test_bridge_state_is_reset_for_a_second_fit(self, live):
        run = live(epochs=100_000)
        run.wait_for(ev.Batch)
        run.control.stop()
        run.finish()
        assert run.bridge.stop_reason == "user"
        run.model.fit(run.x, run.y, batch_size=64, epochs=2, callbacks=[run.bridge], verbose=0)
        assert run.bridge.stop_reason is None and run.bridge.epochs_completed == 2 and len(run.bridge.history) == 2
