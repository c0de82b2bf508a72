"""Build screen pilot tests: add, edit with a bad value, reorder, remove."""

from __future__ import annotations

from textual.widgets import Input, Label

from tui.factory import make_app

SIZE = (100, 30)


def names(app) -> list[str]:
    return [next(iter(entry)) for entry in app.workspace.raw["model"]["layers"]]


class TestBuilder:
    """The Build screen edits the layer stack from the keyboard and saves it."""

    async def test_add_edit_reorder_remove(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert names(app) == ["Dense", "Dense"]
            # Add: search the catalogue, enter adds after the selected layer.
            await pilot.press("a", *"dropout", "enter")
            await pilot.pause()
            assert names(app) == ["Dense", "Dropout", "Dense"]
            # Edit with a bad value: the error shows inline and nothing is saved.
            await pilot.press("e")
            await pilot.pause()
            field = app.screen.query_one("#arg-rate", Input)
            field.value = "2"
            await pilot.pause()
            assert "must be in [0, 1), got 2" in str(app.screen.query_one("#err-rate", Label).render())
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "LayerEditor"
            field.value = "0.3"
            await pilot.press("enter")
            await pilot.pause()
            assert app.workspace.raw["model"]["layers"][1] == {"Dropout": {"rate": 0.3}}
            # Reorder and remove.
            await pilot.press("[")
            assert names(app) == ["Dropout", "Dense", "Dense"]
            await pilot.press("]", "]")
            assert names(app) == ["Dense", "Dense", "Dropout"]
            await pilot.press("x")
            assert names(app) == ["Dense", "Dense"]
            await pilot.press("d")
            assert names(app) == ["Dense", "Dense", "Dense"]
            # Shapes come from Keras, off the UI thread.
            await app.workers.wait_for_complete()
            await pilot.pause()
            summary = app.screen.summary
            assert summary is not None and summary.error is None and summary.total_params > 0

    async def test_save_round_trip(self, tmp_path, tiny_config) -> None:
        from engine.config_io import load_config

        path = tiny_config()
        app = make_app(path, warm_up=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("x", "ctrl+s")
            await pilot.pause()
        cfg = load_config(path)
        assert len(cfg.model.layers) == 1

    async def test_a_typed_value_reads_as_in_a_config_file(self, tiny_config) -> None:
        """``1e-4`` is a number in a config, so it is one in the layer editor too (issue 10)."""
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("a", *"batchnorm", "enter")
            await pilot.pause()
            assert names(app) == ["Dense", "BatchNormalization", "Dense"]
            await pilot.press("e")
            await pilot.pause()
            app.screen.query_one("#arg-epsilon", Input).value = "1e-4"
            await pilot.pause()
            assert not str(app.screen.query_one("#err-epsilon", Label).render()).strip()
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "BuildScreen"
            assert app.workspace.raw["model"]["layers"][1] == {"BatchNormalization": {"epsilon": 0.0001}}

