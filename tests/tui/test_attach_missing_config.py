"""``kwb attach`` on a run without config.yaml: no config is loaded in its place, and ``t`` trains nothing.

The app used to open the last config the user had (``~/.cache/kwb/last_config``) instead,
so the top bar named an unrelated file and ``t`` trained it. Now the top bar says the
run's config is missing and ``t`` refuses with that reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

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
