"""Snapshots at 80×24 and 120×40, reached by key presses and by replaying recorded events."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import events as ev
from engine.runs import read_events
from tui.factory import make_app

SAMPLE = Path(__file__).parents[2] / "sample_configs" / "spirals.yaml"
SIZES = [(80, 24), (120, 40)]
TWO_OUTPUTS = Path(__file__).parent / "fixtures" / "multi_output_runs"


def _app(runs_dir: Path | None = None, mode: str = "build"):
    return make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode=mode, runs_dir=runs_dir)


def _replayer(events: list[ev.Event]):
    async def run_before(pilot) -> None:
        pilot.app.replay(events)
        await pilot.pause()

    return run_before


class TestBuildScreen:
    """The Build screen with the sample model and its Keras shapes."""

    @pytest.mark.parametrize("size", SIZES)
    def test_build_screen_with_model(self, snap_compare, size) -> None:
        async def run_before(pilot) -> None:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

        assert snap_compare(_app(), terminal_size=size, run_before=run_before)


class TestBuildScreenGraph:
    """The Build screen with a graph model (two inputs, a residual Add, two outputs): its connections, and its drawing."""

    GRAPH = Path(__file__).parents[2] / "sample_configs" / "two_inputs.yaml"

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize("press", [[], ["g"]], ids=["table", "drawing"])
    def test_build_screen_with_graph(self, snap_compare, size, press) -> None:
        async def run_before(pilot) -> None:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            for key in press:
                await pilot.press(key)
            await pilot.pause()

        app = make_app(self.GRAPH, warm_up=False, cursor_blink=False, start_mode="build")
        assert snap_compare(app, terminal_size=size, run_before=run_before)


class TestDashboard:
    """The dashboard reached by replaying recorded events: mid-run, ended, failed."""

    @pytest.mark.parametrize("size", SIZES)
    def test_dashboard_mid_run(self, snap_compare, controls_events, size) -> None:
        events = read_events(controls_events)
        cut = next(i for i, e in enumerate(events) if isinstance(e, ev.Paused)) + 1
        assert snap_compare(_app(mode="train"), terminal_size=size, run_before=_replayer(events[:cut]))

    @pytest.mark.parametrize("size", SIZES)
    def test_dashboard_after_early_stop(self, snap_compare, controls_events, size) -> None:
        assert snap_compare(_app(mode="train"), terminal_size=size, run_before=_replayer(read_events(controls_events)))

    @pytest.mark.parametrize("size", SIZES)
    def test_error_in_dashboard(self, snap_compare, size) -> None:
        events = [
            ev.RunStarted(run_id="20250101-000000-broken", run_dir=None, name="broken", epochs=5, steps_per_epoch=10,
                          params=130, metrics=("loss",), learning_rate=0.01, t=100.0),
            ev.EpochStarted(epoch=0, epochs=5, t=100.1),
            ev.Error(message="Traceback …\nValueError: Arguments `target` and `output` must have the same rank",
                     fatal=True, t=100.5),
            ev.RunEnded(status="failed", reason="error", t=100.6),
        ]
        assert snap_compare(_app(mode="train"), terminal_size=size, run_before=_replayer(events))


class TestRunsScreen:
    """The Runs screen overlaying two recorded runs."""

    @pytest.mark.parametrize("size", SIZES)
    def test_runs_overlay_of_two_runs(self, snap_compare, fixture_runs, size) -> None:
        async def run_before(pilot) -> None:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

        assert snap_compare(
            _app(runs_dir=fixture_runs, mode="runs"), terminal_size=size, press=["space", "down", "space", "v"],
            run_before=run_before,
        )


class TestDashboardTwoOutputs:
    """The dashboard of a recorded two-output run: every loss in one chart, each output's metric in its own."""

    @pytest.mark.parametrize("size", SIZES)
    def test_dashboard_of_two_outputs(self, snap_compare, size) -> None:
        events = read_events(next(TWO_OUTPUTS.glob("*-two-outputs")) / "events.jsonl")
        assert snap_compare(_app(mode="train"), terminal_size=size, run_before=_replayer(events))
