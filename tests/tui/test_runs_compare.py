"""The Runs screen compares runs: differing settings as columns, sort (o, O, a header click), filter (/), overlay legend (v), scatter (x, o, m), F12 screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from runs_compare_fixture import build_runs
from textual.widgets import ContentSwitcher, DataTable, Input

from tui.factory import make_app
from tui.widgets.chart import SERIES_COLORS, Chart
from tui.widgets.scatter import Scatter

SAMPLE = Path(__file__).parents[2] / "sample_configs" / "spirals.yaml"
WIDE, SMALL = (120, 40), (80, 24)


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # F12 saves into the working folder
    return build_runs(tmp_path)


async def opened(app, pilot):
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen


def headers(screen) -> list[str]:
    return [str(c.label) for c in screen.query_one(DataTable).columns.values()]


def run_order(screen) -> list[str]:
    """The table's runs top to bottom, by the last digit of their time (1, 2, 3)."""
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[1])[-9] for i in range(table.row_count)]


def app_on(runs: Path):
    return make_app(SAMPLE, warm_up=False, cursor_blink=False, start_mode="runs", runs_dir=runs)


class TestColumns:
    """The settings that differ are columns; at 80×24 the duration stays."""

    async def test_differing_settings_are_columns(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=WIDE) as pilot:
            screen = await opened(app, pilot)
            assert headers(screen) == [" ", "run", "status", "epochs", "lr", "layers[0].units", "val_loss", "val_accuracy", "duration"]
            table = screen.query_one(DataTable)
            assert [str(c) for c in table.get_row_at(0)[4:6]] == ["0.01", "16"]  # newest first: run 3; the learning rate first
            assert [str(c) for c in table.get_row_at(2)[4:6]] == ["0.005", "64"]

    async def test_small_terminal_keeps_the_duration(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=SMALL) as pilot:
            screen = await opened(app, pilot)
            # the run ids lose their date, the settings' headers shorten to their last word, the second metric gives way
            assert headers(screen) == [" ", "run", "status", "epochs", "lr", "units", "val_loss", "duration"]
            table = screen.query_one(DataTable)
            assert str(table.get_row_at(0)[1]) == "100003-spirals"
            assert sum(c.get_render_width(table) for c in table.columns.values()) <= 80
            assert str(screen.query_one("#runs-hint").render()) == "3 runs in runs · 0 marked · +1 column when wider"


class TestSort:
    """o steps through the columns (metrics best first), O reverses, a header click sorts by that column."""

    async def test_o_and_O(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=WIDE) as pilot:
            screen = await opened(app, pilot)
            assert run_order(screen) == ["3", "2", "1"]  # newest first
            await pilot.press("o")
            assert screen.sort_key.column == "run" and run_order(screen) == ["1", "2", "3"]
            assert headers(screen)[1] == "run ▲"
            for _ in range(5):  # status, epochs, lr, layers[0].units, best_val_loss
                await pilot.press("o")
            assert screen.sort_key.column == "best_val_loss" and run_order(screen) == ["2", "3", "1"]
            await pilot.press("o")
            assert screen.sort_key.column == "best_val_accuracy" and screen.sort_key.descending  # higher is better
            assert run_order(screen) == ["2", "3", "1"]
            await pilot.press("O")
            assert run_order(screen) == ["1", "3", "2"] and headers(screen)[7] == "val_accuracy ▲"

    async def test_header_click(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=WIDE) as pilot:
            screen = await opened(app, pilot)
            table = screen.query_one(DataTable)
            columns = list(table.columns.values())
            x = sum(c.get_render_width(table) for c in columns[:5]) + 2  # inside the layers[0].units header (after lr)
            await pilot.click("#run-table", offset=(x, 0))
            await pilot.pause()
            assert screen.sort_key.column == "layers[0].units" and run_order(screen) == ["3", "2", "1"]  # 16, then 64 twice
            await pilot.click("#run-table", offset=(x, 0))  # again: the other way
            await pilot.pause()
            assert screen.sort_key.descending and run_order(screen)[-1] == "3"


class TestFilter:
    """/ filters by typing: words in the id, status or values, setting=value among the settings; escape clears it."""

    async def test_filter(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=WIDE) as pilot:
            screen = await opened(app, pilot)
            await pilot.press("slash")
            box = screen.query_one("#runs-filter", Input)
            assert box.display and box.has_focus
            await pilot.press(*"lr=0.01")
            assert run_order(screen) == ["3", "2"]
            await pilot.press("space", *"stopped")
            assert run_order(screen) == ["3"]
            await pilot.press("enter")
            assert screen.query_one(DataTable).has_focus and box.display
            assert "1 of 3 runs" in str(screen.query_one("#runs-hint").render())
            await pilot.press("escape")
            assert not box.display and run_order(screen) == ["3", "2", "1"]
            await pilot.press("slash", *"wide")  # nothing matches; escape while typing clears at once
            assert run_order(screen) == []
            await pilot.press("escape")
            assert not box.display and run_order(screen) == ["3", "2", "1"] and screen.query_one(DataTable).has_focus


class TestOverlay:
    """Marked runs and v: one curve per run, each named by the settings that set it apart."""

    async def test_overlay_legend_names_runs_by_their_settings(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=WIDE) as pilot:
            screen = await opened(app, pilot)
            await pilot.press("space", "down", "space", "down", "space", "v")
            assert screen.query_one(ContentSwitcher).current == "overlay"
            labels = [label for label, _points in screen.query_one("#overlay-loss", Chart).series]
            assert labels == ["lr=0.01 units=16", "lr=0.01 units=64", "lr=0.005 units=64"]
            assert all(points for _label, points in screen.query_one("#overlay-loss", Chart).series)
            legend = screen.query_one("#runs-hint").render()  # under the charts, every run in its curve's colour
            assert legend.plain.replace("\u00a0", " ") == "━ lr=0.01 units=16  ━ lr=0.01 units=64  ━ lr=0.005 units=64"
            assert [str(span.style).removeprefix("ansi_") for span in legend.spans] == list(SERIES_COLORS[:3])
            await pilot.press("x")  # the plot takes the hint back too
            assert screen.query_one("#runs-hint").render().plain.startswith("3 runs in runs · 3 marked")

    async def test_two_runs_named_by_what_differs_between_them(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=WIDE) as pilot:
            screen = await opened(app, pilot)
            await pilot.press("down", "space", "down", "space", "v")  # runs 2 and 1: only lr differs
            labels = [label for label, _points in screen.query_one("#overlay-metric", Chart).series]
            assert labels == ["lr=0.01", "lr=0.005"]


class TestScatter:
    """x plots the best of a metric against a setting; o: the next setting, m: the next metric; x again: the table."""

    async def test_scatter_keys(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=WIDE) as pilot:
            screen = await opened(app, pilot)
            await pilot.press("x")
            scatter = screen.query_one(Scatter)
            assert screen.query_one(ContentSwitcher).current == "scatter"
            assert scatter.names == ("lr", "best val_loss")  # the learning rate comes first
            assert sorted(p[0] for p in scatter.points) == [0.005, 0.01, 0.01]
            await pilot.press("o")
            assert scatter.names[0] == "layers[0].units"
            assert sorted((x, round(y, 3)) for x, y in scatter.points) == [(16, 0.403), (64, 0.163), (64, 0.52)]
            await pilot.press("m")
            assert scatter.names == ("layers[0].units", "best val_accuracy")
            await pilot.press("x")
            assert screen.query_one(ContentSwitcher).current == "run-table"

    async def test_the_sort_column_picks_the_setting(self, runs: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=WIDE) as pilot:
            screen = await opened(app, pilot)
            await pilot.press(*"ooooo", "x")  # sorted by layers[0].units
            assert screen.query_one(Scatter).names[0] == "layers[0].units"


class TestScreenshot:
    """F12 saves the screen as an SVG file in the working folder and says where."""

    async def test_f12(self, runs: Path, tmp_path: Path) -> None:
        app = app_on(runs)
        async with app.run_test(size=SMALL) as pilot:
            await opened(app, pilot)
            await pilot.press("f12")
            await pilot.pause()
            saved = list(tmp_path.glob("kwb-runs-*.svg"))
            assert len(saved) == 1 and "<svg" in saved[0].read_text(encoding="utf-8")
            assert [n.message for n in app._notifications] == [str(saved[0])]


class TestScatterAxis:
    """The plot's x axis: numbers by value (a log axis over two powers of ten or more), anything else by its text."""

    def test_positions(self) -> None:
        from tui.widgets.scatter import x_positions

        assert x_positions([16, 64, 16]) == ([16.0, 64.0, 16.0], [16.0, 64.0], ["16", "64"], False)
        logs, ticks, labels, log = x_positions([0.01, 0.001, 0.0001])
        assert log and logs == [-2.0, -3.0, -4.0] and labels == ["0.0001", "0.001", "0.01"]
        assert x_positions(["tanh", None, "relu"]) == ([2.0, 0.0, 1.0], [0.0, 1.0, 2.0], ["-", "relu", "tanh"], False)


class TestScriptRunsBesideConfigRuns:
    """Script runs beside config runs: the learning rate and batch size are the columns at 80 and 100 wide, never seed or data."""

    @pytest.mark.parametrize("width", [80, 100])
    async def test_columns_and_scatter(self, tmp_path: Path, width: int) -> None:
        from mixed_runs import build_mixed_runs

        app = app_on(build_mixed_runs(tmp_path))
        async with app.run_test(size=(width, 24)) as pilot:
            screen = await opened(app, pilot)
            shown = headers(screen)
            assert shown[4] == "optimizer.lr" and not {"seed", "data", "summary", "cwd", "argv0", "x"} & set(shown)
            table = screen.query_one(DataTable)
            assert sum(c.get_render_width(table) for c in table.columns.values()) <= width
            await pilot.press("x")
            scatter = screen.query_one(Scatter)
            assert scatter.names == ("optimizer.lr", "best val_loss")
            assert sorted(x for x, _ in scatter.points) == [0.001, 0.003, 0.01, 0.01]
            await pilot.press("o", "o")  # args.lr: only the script runs have it; "-" is no point
            assert scatter.names[0] == "args.lr" and sorted(x for x, _ in scatter.points) == [0.003, 0.01]
