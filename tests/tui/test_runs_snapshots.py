"""Snapshots of the Runs screen comparing three runs that differ in two settings, at 80×24 and 120×40.

The runs are built in the test's folder from recorded runs (``runs_compare_fixture``); the
working folder is that folder, so the hint reads ``runs`` on every machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from runs_compare_fixture import build_runs

from tui.factory import make_app

SAMPLE = Path(__file__).parents[2] / "sample_configs" / "spirals.yaml"
SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return build_runs(tmp_path)


async def _loaded(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _app(runs: Path):
    return make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="runs", runs_dir=runs)


class TestRunsTable:
    """The run table: the differing settings (lr first, then layers[0].units) as columns beside status, epochs, best metrics, duration."""

    @pytest.mark.parametrize("size", SIZES)
    def test_table_with_differing_settings(self, snap_compare, runs: Path, size) -> None:
        # one run marked, sorted by the best val_loss (o six times)
        keys = ["down", "space", *"oooooo"]
        assert snap_compare(_app(runs), terminal_size=size, press=keys, run_before=_loaded)


class TestRunsOverlay:
    """Three runs overlaid: each curve named in its colour by the settings that set it apart."""

    @pytest.mark.parametrize("size", SIZES)
    def test_overlay_legend(self, snap_compare, runs: Path, size) -> None:
        keys = ["space", "down", "space", "down", "space", "v"]
        assert snap_compare(_app(runs), terminal_size=size, press=keys, run_before=_loaded)


class TestRunsScatter:
    """x: the best val_loss against the first setting (the learning rate), one point per run."""

    def test_scatter(self, snap_compare, runs: Path) -> None:
        assert snap_compare(_app(runs), terminal_size=(120, 40), press=["x"], run_before=_loaded)
