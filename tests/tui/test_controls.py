"""Each run control during a real tiny run, acknowledged in the run's events.jsonl; failures; quitting."""

from __future__ import annotations

import json
from pathlib import Path

from engine import events as ev
from engine.runs import read_events
from tui.factory import make_app

SIZE = (100, 30)


class TestControls:
    """The run keys act on an in-app run and every one is acknowledged by an event."""

    async def test_every_control_acts_and_is_acknowledged(self, tmp_path: Path, tiny_config, run_events, wait_for) -> None:
        runs = tmp_path / "runs"
        app = make_app(tiny_config(), runs_dir=runs, warm_up=False)
        async with app.run_test(size=SIZE, message_hook=run_events.hook) as pilot:
            await pilot.press("t")
            await wait_for(pilot, lambda: run_events.seen(ev.Batch) and app.dash.status == "running")
            for key, kind, fields in (
                ("l", ev.LrChanged, {"source": "user"}),
                ("c", ev.CheckpointSaved, {"kind": "manual"}),
                ("p", ev.Paused, {}),
                ("p", ev.Resumed, {}),
                ("s", ev.RunEnded, {"status": "stopped"}),
            ):
                await pilot.press(key)
                await wait_for(pilot, lambda: run_events.seen(kind, **fields), timeout=30, what=kind.type)
            await wait_for(pilot, lambda: not app.run_active)
        assert app.dash.status == "stopped"
        lr = run_events.last(ev.LrChanged)
        assert abs(lr.new - lr.old * 0.5) < 1e-6 * lr.old
        (run_dir,) = runs.iterdir()
        types = [e.type for e in read_events(run_dir)]
        for kind in ("lr_changed", "checkpoint_saved", "paused", "resumed", "stopping", "run_ended"):
            assert kind in types
        assert types.index("paused") < types.index("resumed") < types.index("run_ended")
        manual = next(e for e in read_events(run_dir) if isinstance(e, ev.CheckpointSaved) and e.kind == "manual")
        assert Path(manual.path).is_file()
        import keras

        assert keras.models.load_model(manual.path).count_params() > 0
        assert json.loads((run_dir / "status.json").read_text())["state"] == "stopped"

    async def test_set_exact_learning_rate_from_the_dialog(self, tmp_path: Path, tiny_config, run_events, wait_for) -> None:
        # Many epochs: with steps_per_execution auto a tiny epoch is one execution, and the run
        # must still be going when the typed rate arrives on a loaded machine ("s" ends it).
        app = make_app(tiny_config(epochs=2000), runs_dir=tmp_path / "runs", warm_up=False)
        async with app.run_test(size=SIZE, message_hook=run_events.hook) as pilot:
            await pilot.press("t")
            await wait_for(pilot, lambda: run_events.seen(ev.Batch) and app.dash.status == "running")
            await pilot.press("L")
            await pilot.press(*"0.0003", "enter")
            await wait_for(pilot, lambda: run_events.seen(ev.LrChanged), timeout=30)
            assert abs(run_events.last(ev.LrChanged).new - 0.0003) < 1e-9
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.run_active)


class TestFailures:
    """A run that fails shows its error; the app keeps working."""

    async def test_failing_run_shows_error_and_app_keeps_working(self, tmp_path: Path, tiny_config, wait_for) -> None:
        # Integer labels with a one-hot loss: fit() itself fails.
        path = tiny_config(epochs=2)
        path.write_text(path.read_text().replace("loss: sparse_categorical_crossentropy", "loss: categorical_crossentropy"))
        runs = tmp_path / "runs"
        app = make_app(path, runs_dir=runs, warm_up=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            await wait_for(pilot, lambda: not app.run_active and app.dash.status == "failed")
            assert app.dash.error
            assert any(line.kind == "error" for line in app.dash.log)
            # The app still works: switch screens, start again.
            await pilot.press("1")
            assert app.current_mode == "build"
        dirs = list(runs.iterdir()) if runs.exists() else []
        if dirs:  # failed inside fit: a run directory with the traceback
            status = json.loads((dirs[0] / "status.json").read_text())
            assert status["state"] == "failed"
            assert "Traceback" in (dirs[0] / "events.jsonl").read_text() or "Traceback" in (dirs[0] / "train.log").read_text()


class TestQuit:
    """Quitting during a run asks first, then stops the run and saves it."""

    async def test_quit_during_run_asks_then_stops_and_saves(self, tmp_path: Path, tiny_config, run_events, wait_for) -> None:
        runs = tmp_path / "runs"
        app = make_app(tiny_config(), runs_dir=runs, warm_up=False)
        async with app.run_test(size=SIZE, message_hook=run_events.hook) as pilot:
            await pilot.press("t")
            await wait_for(pilot, lambda: run_events.seen(ev.Batch) and app.dash.status == "running")
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "ConfirmDialog"
            await pilot.press("y")
            await wait_for(pilot, lambda: app._exit or not app.is_running, timeout=60)
        (run_dir,) = runs.iterdir()
        assert json.loads((run_dir / "status.json").read_text())["state"] == "stopped"
        assert (run_dir / "model.keras").is_file()
        assert read_events(run_dir)[-1].type == "run_ended"
