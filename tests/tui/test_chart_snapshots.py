"""Snapshots of the charts read three ways (issue 15): smoothed, on a log scale, one zoomed; at 80×24 and 120×40.

Each replays a recorded run (``fixtures/chart_runs``: 40 noisy epochs, the learning rate halved
on plateaus, a manual checkpoint; ``fixtures/record_charts.py`` re-records it) and presses the keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runs import read_events
from tui.factory import make_app

SAMPLE = Path(__file__).parents[2] / "sample_configs" / "spirals.yaml"
NOISY = next((Path(__file__).parent / "fixtures" / "chart_runs").glob("*-noisy")) / "events.jsonl"
SIZES = [(80, 24), (120, 40)]


def _replay_then(*keys: str):
    async def run_before(pilot) -> None:
        pilot.app.replay(read_events(NOISY))
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return run_before


def _app():
    return make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="train")


class TestChartSnapshots:
    """The Train dashboard of a recorded noisy run."""

    @pytest.mark.parametrize("size", SIZES)
    def test_smoothing_on(self, snap_compare, size) -> None:
        """S twice: smooth 0.9, the raw curves faint behind; LR drops and the manual checkpoint marked on the loss axis."""
        assert snap_compare(_app(), terminal_size=size, run_before=_replay_then("S", "S"))

    @pytest.mark.parametrize("size", SIZES)
    def test_log_scale(self, snap_compare, size) -> None:
        """Y: the loss chart on a log scale, its title says so."""
        assert snap_compare(_app(), terminal_size=size, run_before=_replay_then("Y"))

    @pytest.mark.parametrize("size", SIZES)
    def test_zoomed_chart(self, snap_compare, size) -> None:
        """Focus the accuracy chart (arrows), smooth it, z: that chart alone, with the way back in its border."""
        assert snap_compare(_app(), terminal_size=size, run_before=_replay_then("right", "right", "S", "z"))
