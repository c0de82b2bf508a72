"""The Build screen sizes a model without ``input_shape`` by the data, once v on the Data screen has read it."""

from __future__ import annotations

from pathlib import Path

from tui.factory import make_app

FLOWERS = Path(__file__).parents[2] / "sample_configs" / "flowers_csv.yaml"


async def _settled(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


class TestShapesFromTheData:
    """A CSV model has no input_shape: the Build screen says where it comes from, then uses it."""

    async def test_v_on_the_data_screen_gives_the_build_screen_its_shapes(self) -> None:
        app = make_app(FLOWERS, warm_up=False, cursor_blink=False, start_mode="build")
        async with app.run_test(size=(100, 30)) as pilot:
            await _settled(pilot)
            summary = app.screen.summary
            assert summary.total_params == 0 and "press v on the Data screen" in summary.error
            await pilot.press("2")
            app.screen.query_one("#preview-btn").focus()
            await pilot.press("v")
            await _settled(pilot)
            await pilot.press("1")
            await _settled(pilot)
            summary = app.screen.summary
            assert summary.error is None and summary.total_params == 4 * 16 + 16 + 16 * 3 + 3, summary
            app.workspace.set("data.features", ["sepal_length", "petal_length"])  # other data: read again
            await _settled(pilot)
            assert "press v on the Data screen" in app.screen.summary.error
