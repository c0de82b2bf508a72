"""Damaged run folders in the app (issue 14, point 2): the Runs screen and ``attach`` show what they can.

Each case copies a recorded run and damages one file next to an intact copy: the Runs
screen lists both, marks the damaged one in its status cell, and opening it shows its
dashboard and a note naming the damage; attaching to it does the same on the Train screen.
The CLI readers on the same damages are in tests/cli/test_damaged_runs.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from run_damages import DAMAGES as SHARED_DAMAGES
from textual.coordinate import Coordinate
from textual.widgets import ContentSwitcher, DataTable

from tui.factory import make_app

SIZE = (120, 40)


DAMAGES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    name: ("controls", how, says) for name, (how, says) in SHARED_DAMAGES.items() if name not in ("status-not-object", "model-missing")
}
DAMAGES["model-missing"] = ("early", lambda run: None, "model.keras is missing")  # a finished recording without its model
"""Each damage: the recorded run it is done to (fixtures/runs/*-NAME), how, and what the note says."""


@pytest.fixture
def damaged_runs(tmp_path: Path, fixture_runs: Path) -> Callable[[str], tuple[Path, str]]:
    """``damaged_runs(damage)``: a runs folder with an intact recorded run and a damaged copy; returns the folder and the copy's id."""

    def make(damage: str) -> tuple[Path, str]:
        source, do, _ = DAMAGES[damage]
        runs = tmp_path / "runs"
        intact = next(fixture_runs.glob("*-controls"))
        shutil.copytree(intact, runs / intact.name)
        run = runs / f"20990101-000000-{damage}"
        shutil.copytree(next(fixture_runs.glob(f"*-{source}")), run)
        do(run)
        return runs, run.name

    return make


def notes(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


class TestRunsScreen:
    """The Runs screen lists a damaged run beside the intact one, marks it, and opens what can be read."""

    @pytest.mark.parametrize("damage", list(DAMAGES))
    async def test_damaged_run_is_listed_marked_and_opens(self, damaged_runs, wait_for, damage: str) -> None:
        runs, run_id = damaged_runs(damage)
        app = make_app(runs_dir=runs, warm_up=False, cursor_blink=False, start_mode="runs")
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == 2, timeout=30, what="the run table")
            shown = [table.get_cell_at(Coordinate(i, 1)).plain for i in range(2)]  # the id, or its end on a narrow table
            row = next(i for i, text in enumerate(shown) if run_id.endswith(text))
            assert not run_id.endswith(shown[1 - row])  # the damaged run hides nothing
            status = table.get_column_index("state")
            assert "damaged" in table.get_cell_at(Coordinate(row, status)).plain
            assert "damaged" not in table.get_cell_at(Coordinate(1 - row, status)).plain
            table.move_cursor(row=row)
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen.query_one("#runs-switcher", ContentSwitcher).current == "run-dashboard"
            assert any(note.startswith("damaged run:") and DAMAGES[damage][2] in note for note in notes(app)), notes(app)
            assert app._exception is None


class TestAttach:
    """Attaching to a damaged run shows its recorded dashboard and says what is damaged."""

    @pytest.mark.parametrize("damage", ["events-garbage", "status-missing", "config-missing"])
    async def test_attach_says_what_is_damaged(self, damaged_runs, wait_for, damage: str) -> None:
        runs, run_id = damaged_runs(damage)
        app = make_app(attach=runs / run_id, runs_dir=runs, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: any(n.startswith("damaged run:") for n in notes(app)), timeout=30, what="the note")
            assert any(DAMAGES[damage][2] in n for n in notes(app)), notes(app)
            await wait_for(pilot, lambda: app.latest.epoch > 0, timeout=30, what="the replayed history")
            assert app._exception is None
