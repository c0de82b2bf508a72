"""Data screen pilot tests: source and options with inline validation, preview, HDF5 tree picks."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Label, Select

from tui.factory import make_app
from tui.screens.data import DataScreen
from tui.widgets.data_preview import DataPreview
from tui.widgets.data_tree import DatasetTree

SIZE = (80, 24)
DATA = Path(__file__).resolve().parents[2] / "sample_configs" / "data"


def preview_text(app) -> str:
    return str(app.screen.query_one(DataPreview).render())


class TestDataScreen:
    """The Data screen edits data.*, previews the data and picks HDF5 datasets."""

    async def test_csv_preview_and_bad_value(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, DataScreen)
            # The source Select is reachable from the keyboard: it has focus first.
            assert app.focused is app.screen.query_one("#f-data-source", Select)
            app.screen.query_one("#f-data-source", Select).value = "csv"
            await pilot.pause()
            assert app.workspace.raw["data"]["source"] == "csv"
            assert app.screen.query_one("#row-data-path").display
            assert not app.screen.query_one("#row-data-samples").display
            app.screen.query_one("#f-data-path", Input).value = str(DATA / "flowers.csv")
            await pilot.pause()
            assert app.workspace.raw["data"]["path"] == str(DATA / "flowers.csv")
            # A bad value: shown next to the field, config untouched.
            app.screen.query_one("#f-data-validation-split", Input).value = "1.5"
            await pilot.pause()
            error = str(app.screen.query_one("#err-data-validation-split", Label).render())
            assert "data.validation_split" not in error and "must be less than 1.0, got 1.5" in error
            assert app.workspace.raw["data"]["validation_split"] == 0.2
            app.screen.query_one("#f-data-validation-split", Input).value = "0.25"
            await pilot.pause()
            assert app.workspace.raw["data"]["validation_split"] == 0.25
            assert not str(app.screen.query_one("#err-data-validation-split", Label).render()).strip()
            # Preview in a worker: 3 classes with a bar each.
            await pilot.click("#preview-btn")
            await app.workers.wait_for_complete()
            await pilot.pause()
            text = preview_text(app)
            assert "3 classes" in text, text
            assert "samples" in text and "class balance" not in text  # the bars are in the picture above it
            from tui.widgets.data_pictures import DataPictures

            picture = str(app.screen.query_one(DataPictures).render())
            assert "class balance (train)" in picture and "█" in picture

    async def test_preview_error_is_a_message(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            app.screen.query_one("#f-data-source", Select).value = "csv"
            await pilot.pause()
            app.screen.query_one("#f-data-path", Input).value = str(DATA / "missing.csv")
            app.screen.query_one(DatasetTree).focus()
            await pilot.press("v")
            await app.workers.wait_for_complete()
            await pilot.pause()
            text = preview_text(app)
            assert "cannot load the data" in text and "missing.csv" in text, text
            assert app.is_running

    async def test_hdf5_tree_picks_x_and_y(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            app.screen.query_one("#f-data-source", Select).value = "hdf5"
            await pilot.pause()
            app.screen.query_one("#f-data-path", Input).value = str(DATA / "signals.h5")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            tree = app.screen.query_one(DatasetTree)
            assert tree.display and tree.has_class("shown")
            tree.focus()
            for role in ("x", "y"):
                line = next(i for i in range(tree.last_line + 1) if tree.get_node_at_line(i).data == f"train/{role}")
                tree.cursor_line = line
                await pilot.press(role)
                await pilot.pause()
            assert app.workspace.raw["data"]["x"] == "train/x"
            assert app.workspace.raw["data"]["y"] == "train/y"
            assert app.screen.query_one("#f-data-x", Input).value == "train/x"
            await pilot.press("v")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "input (16,)" in preview_text(app), preview_text(app)
