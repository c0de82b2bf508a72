"""``kwb attach`` and the Runs screen on a run without config.yaml, or with an empty events.jsonl.

Without config.yaml the app used to open the last config the user had
(``~/.cache/kwb/last_config``) instead, so the top bar named an unrelated file and ``t``
trained it. Now the top bar says the run's config is missing and ``t`` refuses with that
reason. With an empty events.jsonl the dashboard said "IDLE no run yet" for a run whose
history.csv holds every epoch; now it shows the run, its state and its curves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import DataTable

from tui.factory import make_app
from tui.widgets.nav import NavBar
from tui.workspace import last_config_path, remember_config

SIZE = (120, 40)


def notes(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


class TestAttachWithoutConfig:
    """A run whose config.yaml is gone opens with no config, never the last one opened."""

    async def test_no_other_config_is_loaded_and_t_trains_nothing(self, tmp_path: Path, fixture_runs: Path, tiny_config, wait_for) -> None:
        runs = tmp_path / "runs"
        run = runs / next(fixture_runs.glob("*-controls")).name
        shutil.copytree(next(fixture_runs.glob("*-controls")), run)
        (run / "config.yaml").unlink()
        other = tiny_config()
        remember_config(other)
        assert last_config_path() == other.resolve()  # what the app would have opened instead
        app = make_app(attach=run, runs_dir=runs, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.dash.status == "stopped", timeout=30, what="the replayed run")
            assert app.workspace.raw == {} and app.workspace.path != other.resolve()
            assert app.file_status.label == f"missing config.yaml of run {run.name}"
            assert app.file_status.error == "not loaded: config.yaml missing"
            bar = app.screen.query_one(NavBar).render().plain
            assert f"missing config.yaml of run {run.name} ✗" in bar, bar  # the label first; the error after it as room allows
            await pilot.press("t")
            await pilot.pause()
            assert app.control is None and not app.run_active
            assert any(n.startswith("cannot train:") and "config.yaml missing" in n for n in notes(app)), notes(app)
        assert sorted(p.name for p in runs.iterdir()) == [run.name]  # no run was started


class TestEmptyEvents:
    """A finished run whose events.jsonl is empty shows its state from status.json and its epochs from history.csv."""

    async def test_attach_and_runs_screen_show_the_run(self, tmp_path: Path, fixture_runs: Path, wait_for) -> None:
        runs = tmp_path / "runs"
        source = next(fixture_runs.glob("*-early"))
        run = runs / source.name
        shutil.copytree(source, run)
        (run / "events.jsonl").write_bytes(b"")
        epochs = len((run / "history.csv").read_text().splitlines()) - 1
        app = make_app(attach=run, runs_dir=runs, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.dash.status != "idle", timeout=30, what="the replayed run")
            assert (app.dash.status, app.dash.run_id, app.dash.epoch) == ("finished", run.name, epochs)
            assert len(app.dash.history["val_loss"]) == epochs
            await wait_for(pilot, lambda: any("events.jsonl is empty" in n for n in notes(app)), timeout=30, what="the note")
        app = make_app(runs_dir=runs, warm_up=False, cursor_blink=False, start_mode="runs")
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == 1, timeout=30, what="the run table")
            await pilot.press("enter")
            await pilot.pause()
            shown = app.screen.query_one("#run-dashboard").state
            assert (shown.status, shown.run_id, shown.epoch) == ("finished", run.name, epochs)
