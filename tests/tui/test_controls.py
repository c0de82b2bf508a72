"""Each run control during a real tiny run, acknowledged in the run's events.jsonl; failures; quitting."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Callable

from engine import events as ev
from engine.runs import read_events
from tui.app import KwbApp, make_app

SIZE = (100, 30)


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app run until ``condition()`` holds (the run lives in a thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the run"
        await pilot.pause(0.05)


def seen(app: KwbApp, event_type: type, **fields) -> bool:
    return any(isinstance(e, event_type) and all(getattr(e, k) == v for k, v in fields.items()) for e in app.recorded)


def test_every_control_acts_and_is_acknowledged(tmp_path: Path, tiny_config) -> None:
    asyncio.run(_every_control_acts_and_is_acknowledged(tmp_path, tiny_config))


async def _every_control_acts_and_is_acknowledged(tmp_path: Path, tiny_config) -> None:
    runs = tmp_path / "runs"
    app = make_app(tiny_config(), runs_dir=runs, warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: seen(app, ev.Batch) and app.dash.status == "running")
        for key, kind, fields in (
            ("l", ev.LrChanged, {"source": "user"}),
            ("c", ev.CheckpointSaved, {"kind": "manual"}),
            ("p", ev.Paused, {}),
            ("p", ev.Resumed, {}),
            ("s", ev.RunEnded, {"status": "stopped"}),
        ):
            await pilot.press(key)
            await wait_for(pilot, lambda: seen(app, kind, **fields), timeout=30)
        await wait_for(pilot, lambda: not app.run_active)
        assert app.dash.status == "stopped"
        lr = next(e for e in app.recorded if isinstance(e, ev.LrChanged))
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


def test_set_exact_learning_rate_from_the_dialog(tmp_path: Path, tiny_config) -> None:
    asyncio.run(_set_exact_learning_rate_from_the_dialog(tmp_path, tiny_config))


async def _set_exact_learning_rate_from_the_dialog(tmp_path: Path, tiny_config) -> None:
    app = make_app(tiny_config(), runs_dir=tmp_path / "runs", warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: seen(app, ev.Batch) and app.dash.status == "running")
        await pilot.press("L")
        await pilot.press(*"0.0003", "enter")
        await wait_for(pilot, lambda: seen(app, ev.LrChanged), timeout=30)
        change = next(e for e in app.recorded if isinstance(e, ev.LrChanged))
        assert abs(change.new - 0.0003) < 1e-9
        await pilot.press("s")
        await wait_for(pilot, lambda: not app.run_active)


def test_failing_run_shows_error_and_app_keeps_working(tmp_path: Path, tiny_config) -> None:
    asyncio.run(_failing_run_shows_error_and_app_keeps_working(tmp_path, tiny_config))


async def _failing_run_shows_error_and_app_keeps_working(tmp_path: Path, tiny_config) -> None:
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


def test_quit_during_run_asks_then_stops_and_saves(tmp_path: Path, tiny_config) -> None:
    asyncio.run(_quit_during_run_asks_then_stops_and_saves(tmp_path, tiny_config))


async def _quit_during_run_asks_then_stops_and_saves(tmp_path: Path, tiny_config) -> None:
    runs = tmp_path / "runs"
    app = make_app(tiny_config(), runs_dir=runs, warm_up=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: seen(app, ev.Batch) and app.dash.status == "running")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmDialog"
        await pilot.press("y")
        await wait_for(pilot, lambda: app._exit or not app.is_running, timeout=60)
    (run_dir,) = runs.iterdir()
    assert json.loads((run_dir / "status.json").read_text())["state"] == "stopped"
    assert (run_dir / "model.keras").is_file()
    assert read_events(run_dir)[-1].type == "run_ended"
