"""What keeps a live dashboard cheap over SSH: round axes, cell diffs, repaint budgets, bounded history."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.geometry import Region

from engine import events as ev
from tui.factory import make_app
from tui.state import LOG_CAP
from tui.widgets.cells import RepaintBudget, changed_regions, changed_runs, sent_cells
from tui.widgets.chart import epoch_axis_end, nice_range, nice_ticks


class TestRoundAxes:
    """Chart axes move in round steps, so a new point rarely redraws the frame."""

    def test_nice_range_moves_only_when_the_data_crosses_a_step(self) -> None:
        assert nice_range(0.13, 0.87) == (0.1, 0.9)
        low, high = nice_range(1.0, 6.0)
        assert (low, high) == (1.0, 6.0)
        # A new point inside the limits leaves them as they were.
        assert nice_range(0.13, 0.86) == nice_range(0.13, 0.87)
        assert nice_range(2.0, 2.0) == (1.8, 2.2)

    def test_nice_ticks_are_round_and_inside(self) -> None:
        ticks, labels = nice_ticks(0.0, 16.0, 5)
        assert ticks == [0.0, 5.0, 10.0, 15.0] and labels == ["0", "5", "10", "15"]
        ticks, labels = nice_ticks(0.1, 0.9, 4)
        assert labels == ["0.2", "0.4", "0.6", "0.8"]
        assert nice_ticks(0.0, 100.0, 4)[1] == ["0", "25", "50", "75", "100"]  # epochs, not 25.0
        assert nice_ticks(0.0, 10.0, 4)[1] == ["0.0", "2.5", "5.0", "7.5", "10.0"]
        assert nice_ticks(0.0, 1.0, 4)[1] == ["0.00", "0.25", "0.50", "0.75", "1.00"]
        assert nice_ticks(0.001, 0.0102, 4)[1][:2] == ["0.0025", "0.0050"]

    def test_the_epoch_axis_grows_in_round_steps_capped_by_the_plan(self) -> None:
        ends = [epoch_axis_end(n) for n in (0.3, 1, 1.1, 7, 11, 130)]
        assert ends == [1, 1, 1.2, 8, 12, 150]
        assert epoch_axis_end(7, planned=7) == 7
        # Past the plan (resumed run): the data decides
        assert epoch_axis_end(40, planned=30) == 40


class TestCellDiffs:
    """Only the cells that changed are sent to the terminal."""

    def test_changed_runs_finds_the_cells_that_differ(self) -> None:
        old = Text("batch 12/176  ETA 0:09")
        new = Text("batch 13/176  ETA 0:08")
        assert changed_runs(old, new) == [(7, 8), (21, 22)]
        assert changed_runs(old, old.copy()) == []
        restyled = old.copy()
        restyled.stylize("red", 0, 5)
        assert changed_runs(old, restyled) == [(0, 5)]
        # Close runs are sent as one (a cursor move costs about as much as a few cells).
        assert changed_runs(Text("abcdef"), Text("xbcdex")) == [(0, 6)]

    def test_changed_regions_covers_changed_rows_only(self) -> None:
        old = [Text("one"), Text("two"), Text("three")]
        new = [Text("one"), Text("tw0"), Text("three!")]
        assert changed_regions(old, new, width=10) == [
            Region(2, 1, 1, 1),
            Region(5, 2, 1, 1),
        ]
        # A different shape: repaint it all
        assert changed_regions(old, new[:2], width=10) is None
        # Textual sends each row from the widget's left edge, which is what the budget counts.
        assert (
            sent_cells([Region(2, 1, 1, 1), Region(5, 2, 1, 1), Region(0, 2, 2, 1)])
            == 3 + 6
        )


class TestRepaintBudget:
    """Big repaints earn a longer wait before the next one."""

    def test_repaint_budget_waits_longer_after_big_repaints(self) -> None:
        budget = RepaintBudget(min_interval=1.0, cells_per_s=100)
        assert budget.wait() == 0
        budget.spend(10)
        assert 0.9 < budget.wait() <= 1.0
        budget.spend(500)
        assert 4.9 < budget.wait() <= 5.0


class _ChattyEngine:
    """A recorded stream in place of ``engine.session``: a run that logs far more lines than the dashboard keeps."""

    def train(self, cfg: Any, *, sink: Any, control: Any = None, runs_dir: Any = None) -> None:
        sink.emit(ev.RunStarted(run_id="r", run_dir=None, name="r", epochs=1, steps_per_epoch=1))
        for i in range(50 * LOG_CAP):
            sink.emit(ev.Log(message=f"line {i}"))
        sink.emit(ev.RunEnded(status="finished", epochs_completed=1))


class TestBoundedRun:
    """However much a run says, the app keeps a bounded amount of it."""

    async def test_the_app_keeps_a_bounded_record_of_a_run(self, tiny_config, run_events, wait_for) -> None:
        app = make_app(tiny_config(), engine=_ChattyEngine(), warm_up=False)
        async with app.run_test(size=(80, 24), message_hook=run_events.hook) as pilot:
            await pilot.press("t")
            await wait_for(pilot, lambda: app.dash.status == "finished", timeout=20)
        assert len(run_events) == 50 * LOG_CAP + 2  # every event went through the app…
        assert len(app.dash.log) == LOG_CAP  # …and it kept the newest lines only
        assert app.dash.log[-1].kind == "end" and app.dash.log[-2].text == f"line {50 * LOG_CAP - 1}"
