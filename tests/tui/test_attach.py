"""Attach the dashboard to a run in another process (``kwb attach``), with real processes.

A detached ``kwb train`` is started in a subprocess; the app follows its events.jsonl
and controls it through its control/ folder. Closing a viewer leaves the run alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import events as ev
from engine.runs import _pid_alive, effective_state, read_events, read_status
from tui.app import KwbApp
from tui.factory import make_app

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
SIZE = (100, 30)


def file_has(run: Path, event_type: type, **fields) -> bool:
    return any(
        isinstance(e, event_type) and all(getattr(e, k) == v for k, v in fields.items()) for e in read_events(run)
    )


def notes(app: KwbApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def start_detached(runs: Path, epochs: int = 40) -> Path:
    started = subprocess.run(
        [
            sys.executable, "-m", "tui.cli", "train", str(SPIRALS), "--detach", "--runs-dir", str(runs),
            "--set", f"fit.epochs={epochs}", "--set", "data.samples=12000",
            "--set", "callbacks.early_stopping=null", "--set", "callbacks.reduce_lr_on_plateau=null",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    (run,) = list(runs.iterdir())
    return run


@pytest.fixture
def detached_run(tmp_path: Path):
    """A detached ``kwb train`` of 40 epochs; whatever the test does, its process is gone afterwards."""
    run = start_detached(tmp_path / "runs")
    pid = read_status(run)["pid"]
    try:
        yield run
    finally:  # never leave a training process behind, whatever failed
        if _pid_alive(pid, None):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while _pid_alive(pid, None) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not _pid_alive(pid, None), "the run process did not exit after stop"


class TestAttachLive:
    """Viewers follow a live detached run; one controls it; leaving never stops it."""

    async def test_attach_controls_a_detached_run_and_leaving_does_not_stop_it(self, detached_run: Path, run_events, wait_for) -> None:
        run = detached_run
        # A first viewer, opened from the Runs screen (enter on the live run), follows it, then quits:
        # the run carries on.
        first = make_app(runs_dir=run.parent, warm_up=False, cursor_blink=False, start_mode="runs")
        async with first.run_test(size=SIZE, message_hook=run_events.hook) as pilot:
            await wait_for(pilot, lambda: bool(getattr(first.screen, "runs", None)), what="the run table")
            await pilot.press("enter")
            await wait_for(pilot, lambda: first.attached is not None and first.current_mode == "train", timeout=60)
            assert first.attached.path == run
            await wait_for(pilot, lambda: first.dash.status == "running" and run_events.seen(ev.Batch))
            await wait_for(pilot, lambda: first.dash.epoch >= 1, what="an epoch")
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert first.screen.__class__.__name__ != "ConfirmDialog"
        assert effective_state(read_status(run)) == "running"
        assert not list((run / "control").iterdir())

        # A second viewer replays the history, then controls the run through its directory.
        run_events.clear()
        second = make_app(attach=run, runs_dir=run.parent, warm_up=False, cursor_blink=False)
        async with second.run_test(size=SIZE, message_hook=run_events.hook) as pilot:
            await wait_for(pilot, lambda: second.dash.epoch >= 1 and second.dash.status == "running")
            assert second.dash.run_id == run.name
            await pilot.press("L")  # the exact learning-rate dialog goes through the run directory too
            await pilot.press(*"0.0003", "enter")
            await wait_for(pilot, lambda: file_has(run, ev.LrChanged, source="control"), timeout=30, what="set_lr")
            assert abs(next(e for e in read_events(run) if isinstance(e, ev.LrChanged)).new - 0.0003) < 1e-9
            for key, kind, fields in (
                ("l", ev.LrChanged, {"source": "control", "old": pytest.approx(0.0003)}),
                ("p", ev.Paused, {}),
                ("p", ev.Resumed, {}),
                ("s", ev.RunEnded, {"status": "stopped"}),
            ):
                await pilot.press(key)
                # Acknowledged in the file and, through the tail, on the dashboard.
                await wait_for(pilot, lambda k=kind, f=fields: file_has(run, k, **f), timeout=30, what=kind.type)
                await wait_for(pilot, lambda k=kind: run_events.seen(k), timeout=30, what=f"{kind.type} on the dashboard")
            assert file_has(run, ev.Stopping)
            lr = run_events.last(ev.LrChanged, source="control")
            assert abs(lr.new - lr.old * 0.5) < 1e-6 * lr.old
            await wait_for(pilot, lambda: second.dash.status == "stopped" and second.control is None, timeout=30)
            # Ended: the keys now say why they do nothing.
            await pilot.press("c")
            await pilot.pause()
            assert any("checkpoint refused" in n and "stopped" in n for n in notes(second)), notes(second)
            # r resumes it in the background (kwb resume --detach) and follows it again; s stops it again.
            assert second.footer_shows("resume_run")
            first_pid = read_status(run)["pid"]
            await pilot.press("r")
            await wait_for(pilot, lambda: second.dash.status == "running" and second.control is not None, timeout=90,
                           what="the resumed run")  # fmt: skip
            assert read_status(run)["pid"] != first_pid and not second.footer_shows("resume_run")
            await pilot.press("s")  # (on a slow machine the resumed run may finish first)
            await wait_for(pilot, lambda: second.dash.status in ("stopped", "finished") and second.control is None, timeout=60)
            resumed_pid = read_status(run)["pid"]
        deadline = time.monotonic() + 60
        while _pid_alive(resumed_pid, None) and time.monotonic() < deadline:
            time.sleep(0.1)
        deadline = time.monotonic() + 60
        while effective_state(read_status(run)) not in ("stopped", "finished") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert json.loads((run / "status.json").read_text())["state"] in ("stopped", "finished")
        assert read_events(run)[-1].type == "run_ended"


class TestAttachEnded:
    """A finished run opens as its recorded dashboard; its controls are refused with a reason."""

    async def test_attach_to_a_finished_run_shows_it_and_refuses_controls(self, fixture_runs: Path, wait_for) -> None:
        run = next(fixture_runs.glob("*-controls"))
        control = run / "control"  # git keeps no empty folders: a fresh clone's fixture may lack it
        before = sorted(p.name for p in control.iterdir()) if control.is_dir() else []
        app = make_app(attach=run, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.dash.status == "stopped", timeout=30)
            final = read_events(run)[-1]
            assert isinstance(final, ev.RunEnded)
            assert app.dash.epoch == final.epochs_completed
            assert app.dash.history.get("val_loss")
            assert app.control is None
            assert app.workspace.label == f"config of run {run.name}"  # its own config, not the last one opened
            assert not app.footer_shows("stop") and not app.footer_shows("pause")  # an ended run takes no commands
            await pilot.press("s")
            await pilot.pause()
            assert any("stop refused" in n and "stopped" in n for n in notes(app)), notes(app)
            await pilot.press("L")
            await pilot.pause()
            assert app.screen.__class__.__name__ != "LearningRateDialog"
        after = sorted(p.name for p in control.iterdir()) if control.is_dir() else []
        assert after == before  # nothing was sent


class TestAttachCli:
    """``kwb attach`` finds runs without TensorFlow and names a missing one."""

    def test_attach_cli_finds_runs_without_tensorflow(self, fixture_runs: Path) -> None:
        code = (
            "import sys; from tui.commands import runs; from engine.runs import find_run; import tui.app, tui.remote;"
            f"find_run('controls', {str(fixture_runs)!r});"
            "assert not [m for m in sys.modules if m.startswith(('tensorflow', 'keras'))], 'TensorFlow imported'"
        )
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        missing = subprocess.run(
            [sys.executable, "-m", "tui.cli", "attach", "nope", "--runs-dir", str(fixture_runs)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert missing.returncode == 2 and "no run 'nope'" in missing.stderr


class TestTrainDetached:
    """``T`` starts the workspace config as a detached run and attaches to it."""

    async def test_train_detached_from_the_app_then_attach(self, tmp_path: Path, tiny_config, wait_for) -> None:
        runs = tmp_path / "runs"
        app = make_app(tiny_config(), runs_dir=runs, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("T")
            await wait_for(pilot, lambda: app.attached is not None, timeout=120, what="the detached run")
            run = app.attached.path
            assert run.parent == runs.resolve()
            await wait_for(pilot, lambda: app.dash.status == "running" and app.dash.name == "tiny")
            await pilot.press("s")
            await wait_for(pilot, lambda: app.dash.status == "stopped", timeout=30)
        assert file_has(run, ev.RunEnded, status="stopped")
        assert json.loads((run / "status.json").read_text())["state"] == "stopped"
