"""Build screen editing (issue 11): keys that arrive together, enter and the input-shape
dialog, any Keras layer by name, loading a model file, one row numbering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Input, Label

from tui.factory import make_app

SIZE = (100, 30)


def layers(app: Any) -> list[dict[str, Any]]:
    return app.workspace.raw["model"]["layers"]


def send_together(app: Any, *keys: str) -> None:
    """Post ``keys`` at once, as the terminal driver does for one read of several keys (a
    paste, a laggy SSH link); ``pilot.press`` instead waits for the app between keys."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


class TestKeysInOneWrite:
    """Keys that arrive together are applied in the order they arrived (item 6)."""

    async def test_value_tab_value_in_one_write(self, tiny_config, wait_for) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            send_together(app, "e", "ctrl+u", "3", "2", "tab", "t", "a", "n", "h", "enter")
            await wait_for(pilot, lambda: layers(app)[0] != {"Dense": {"units": 16, "activation": "relu"}},
                           timeout=30, what="the edit")  # a fresh clone reads Keras' signatures first
            assert layers(app)[0] == {"Dense": {"units": 32, "activation": "tanh"}}
            assert app.screen.__class__.__name__ == "BuildScreen"

    async def test_clear_then_type_in_one_write(self, tiny_config, wait_for) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("e")
            field = app.screen.query_one("#arg-units", Input)
            send_together(app, "end", "ctrl+u", "4", "8")
            await wait_for(pilot, lambda: field.value != "16", timeout=10, what="the typing")
            await pilot.pause(0.2)
            assert field.value == "48"

    async def test_pressed_without_pause(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("e", "3", "2", "tab", "t", "a", "n", "h", "enter")
            await pilot.pause()
            assert layers(app)[0] == {"Dense": {"units": 32, "activation": "tanh"}}


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text (from the app's SVG screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    lines = re.findall(r"<text [^>]*>(.*?)</text>", svg)
    return html.unescape(" ".join(lines)).replace("\xa0", " ")


def cells(app: Any, row: int) -> list[str]:
    from textual.widgets import DataTable

    return [str(c) for c in app.screen.query_one("#layers", DataTable).get_row_at(row)]


class TestEnterAndInputShape:
    """Enter edits the selected layer; the input-shape dialog refuses bad input and stays open (item 7)."""

    async def test_enter_opens_the_layer_editor(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("down", "enter")
            assert app.screen.__class__.__name__ == "LayerEditor"
            assert app.screen.index == 1
            assert app.screen.query_one("#arg-units", Input).value == "2"

    async def test_bad_input_shape_keeps_the_dialog_and_the_text(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("i", "end", "ctrl+u", *"abc", "enter")
            assert app.screen.__class__.__name__ == "TextPrompt"
            field = app.screen.query_one("#prompt", Input)
            assert field.value == "abc"
            assert "must be a list of positive integers" in str(app.screen.query_one("#prompt-error").render())
            # Digits typed now go into the field, not to the screen shortcuts behind it.
            await pilot.press("ctrl+u", *"[3, 4]", "2")
            assert app.screen.__class__.__name__ == "TextPrompt"
            await pilot.press("backspace", "enter")
            assert app.screen.__class__.__name__ == "BuildScreen"
            assert app.workspace.raw["model"]["input_shape"] == [3, 4]

    async def test_the_question_is_not_cut_at_80_columns(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("i")
            text = " ".join(screen_text(app).split())
            assert "[28, 28, 1]" in text  # was cut after "e.g. [28, 28"
            assert "Leave it empty to take it from the" in text


class TestTableColumns:
    """Rows numbered as messages name them; the arguments column gives the room back (item 14)."""

    async def test_rows_are_numbered_like_the_messages(self, tiny_config, wait_for) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("down", "e", "end", "ctrl+u", "0", "enter")  # units=0 on model.layers[1]
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen.__class__.__name__ == "LayerEditor"  # refused: units must be positive
            assert "model.layers[1]" in str(app.screen.query_one(Label).render())
            await pilot.press("escape")
            assert [cells(app, i)[0] for i in range(2)] == ["0", "1"]
            app.workspace.set("model.layers", [{"Dense": {"units": 16}}, {"Dense": {"units": -4}}])
            await wait_for(pilot, lambda: app.screen.summary is not None and not app.screen.computing, what="Keras")
            assert "model.layers[1].Dense.units" in str(app.screen.summary.error)
            row = cells(app, 1)
            assert row[0] == "1" and "must be a positive integer" in row[3]  # #, name, layer, arguments

    async def test_arguments_column_shrinks_after_an_error(self, tiny_config, wait_for) -> None:
        from textual.widgets import DataTable

        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            table = app.screen.query_one("#layers", DataTable)

            def widths() -> list[int]:
                return [c.get_render_width(table) for c in table.ordered_columns]

            bad = {"Reshape": {"target_shape": [3, 7]}}  # Keras: 2 values cannot be reshaped to 21, a long message
            app.workspace.set("model.layers", [*app.workspace.raw["model"]["layers"], bad])
            await wait_for(pilot, lambda: not app.screen.computing, what="Keras")
            await pilot.pause()
            assert "does not fit its" in cells(app, 2)[3]  # cut to the room left at 80 columns ...
            assert "does not fit its input of shape (None, 2)" in screen_text(app)  # ... and in full below the table
            assert sum(widths()) <= 80 - 2  # output shape and params still on screen
            assert "(None, 2)" in screen_text(app) and "params" in screen_text(app)
            await pilot.press("down", "down", "x")
            await wait_for(pilot, lambda: not app.screen.computing, what="Keras")
            await pilot.pause()
            assert [next(iter(e)) for e in layers(app)] == ["Dense", "Dense"]
            assert widths()[3] == 2 + len("units=2 activation=softmax")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small saved Keras model: 2 -> Dense(8) -> Dense(3)."""
    from engine.kerasapi import keras

    k = keras()
    model = k.Sequential([k.Input((2,)), k.layers.Dense(8, activation="relu"), k.layers.Dense(3)])
    path = tmp_path_factory.mktemp("models") / "small.keras"
    model.save(path)
    return path


class TestLoadModelFile:
    """``m`` checks the path, keeps the layers until a model has loaded, and shows its layers (item 2)."""

    async def _answer(self, pilot: Any, path: str) -> None:
        await pilot.press("m", "end", "ctrl+u")
        pilot.app.screen.query_one("#prompt", Input).insert_text_at_cursor(path)
        await pilot.press("enter")

    async def test_bad_paths_are_refused_in_the_prompt(self, tiny_config, tmp_path) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        (tmp_path / "text.keras").write_text("not a zip archive", encoding="utf-8")
        async with app.run_test(size=SIZE) as pilot:
            before = [dict(e) for e in layers(app)]
            for typed, reason in (("nope.keras", "file not found"), ("", "type the path of a .keras or .h5 file"),
                                  (str(tmp_path), "is a folder"), ("tiny.yaml", "expected a .keras or .h5 model file"),
                                  ("text.keras", "is not a .keras model")):  # fmt: skip
                await self._answer(pilot, typed)
                assert app.screen.__class__.__name__ == "TextPrompt", typed
                assert reason in str(app.screen.query_one("#prompt-error").render()), typed
                assert app.screen.query_one("#prompt", Input).value == typed
                await pilot.press("escape")
                assert layers(app) == before and not app.workspace.raw["model"].get("path")

    async def test_a_file_keras_cannot_read_keeps_the_layers(self, tiny_config, tmp_path, wait_for) -> None:
        import zipfile

        with zipfile.ZipFile(tmp_path / "broken.keras", "w") as zf:
            zf.writestr("notes.txt", "a zip archive, but no model in it")
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            before = [dict(e) for e in layers(app)]
            await self._answer(pilot, "broken.keras")  # relative to the config's folder
            await wait_for(pilot, lambda: "model file not loaded" in screen_text(app), what="the load")
            assert "layer list is unchanged" in " ".join(screen_text(app).split())
            assert layers(app) == before and not app.workspace.raw["model"].get("path")

    async def test_a_model_file_opens_as_editable_layers_and_gives_the_list_back(self, tiny_config, model_file, wait_for) -> None:
        """Its layers become the config's entries (issue 13): editable, and saved as layers by ctrl+s."""
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            before = [dict(e) for e in layers(app)]
            await self._answer(pilot, str(model_file))
            await wait_for(pilot, lambda: layers(app) != before, what="the load")
            assert layers(app) == [{"Dense": {"units": 8, "activation": "relu"}}, {"Dense": {"units": 3}}]
            assert app.workspace.raw["model"]["input_shape"] == [2] and not app.workspace.raw["model"].get("path")
            await wait_for(pilot, lambda: not app.screen.computing and app.screen.summary is not None, what="the table")
            await pilot.pause()
            assert [cells(app, i)[2] for i in range(2)] == ["Dense", "Dense"]
            assert [cells(app, i)[6] for i in range(2)] == ["24", "27"]
            assert app.screen.summary.total_params == 24 + 27
            await pilot.press("e", "end", "ctrl+u", "4", "enter")  # editable: units 8 -> 4
            assert layers(app)[0] == {"Dense": {"units": 4, "activation": "relu"}}
            # m with an empty path gives the layers back.
            await pilot.press("m", "end", "ctrl+u", "enter")
            await pilot.pause()
            assert layers(app) == before and not app.workspace.raw["model"].get("path")


class TestAnyKerasLayer:
    """The picker adds a Keras layer outside the catalogue, and says why when Keras has none (item 10)."""

    async def test_a_keras_layer_as_typed(self, tiny_config, wait_for) -> None:
        from textual.widgets import OptionList

        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("a", *"GaussianDropout")
            options = app.screen.query_one(OptionList)
            await wait_for(pilot, lambda: app.screen.keras_names is not None, what="Keras' layer names")
            first = options.get_option_at_index(0)
            assert "use GaussianDropout as typed" in str(first.prompt) and options.highlighted == 0
            await pilot.press("enter")
            # Added after the selected layer; its signature requires a rate, so the editor asks for it.
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LayerEditor", what="the editor")
            assert layers(app)[1] == {"GaussianDropout": {}}
            assert "required" in app.screen.query_one("#arg-rate", Input).placeholder
            await pilot.press("enter")
            assert app.screen.__class__.__name__ == "LayerEditor"  # rate is required
            await pilot.press(*"0.1", "enter")
            assert app.screen.__class__.__name__ == "BuildScreen"
            assert layers(app)[1] == {"GaussianDropout": {"rate": 0.1}}
            await wait_for(pilot, lambda: not app.screen.computing, what="Keras")
            assert app.screen.summary.error is None

    async def test_a_name_keras_does_not_have(self, tiny_config, wait_for) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            before = [dict(e) for e in layers(app)]
            await pilot.press("a", *"GausianDropout", "enter")  # enter before Keras' list is read waits for it
            message = app.screen.query_one("#picker-message")
            await wait_for(pilot, lambda: "no layer" in str(message.render()), what="the answer")
            assert "Keras has no layer 'GausianDropout' (did you mean 'GaussianDropout'?)" in str(message.render())
            assert app.screen.__class__.__name__ == "LayerPicker"
            assert app.screen.query_one(Input).value == "GausianDropout"
            await pilot.press("escape")
            assert layers(app) == before

    async def test_the_name_typed_comes_first(self, tiny_config) -> None:
        """``Reshape`` is also a category (of Flatten): the layer named so is offered first."""
        from textual.widgets import OptionList

        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("a", *"Reshape")
            assert app.screen.query_one(OptionList).get_option_at_index(0).id == "Reshape"
            await pilot.press("enter", "e")
            assert app.screen.__class__.__name__ == "LayerEditor" and app.screen.layer_name == "Reshape"


class TestSummaryOfTheCurrentModel:
    """Shapes and params are Keras' for the layers shown, not for a list edited away meanwhile (a, x in one write)."""

    async def test_add_then_remove_in_one_write(self, tmp_path: Path, wait_for) -> None:
        from engine.config_io import parse_config
        from engine.model import summarize

        path = tmp_path / "p2.yaml"
        path.write_text((Path(__file__).parents[2] / "sample_configs" / "spirals.yaml").read_text(encoding="utf-8"))
        app = make_app(path, warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await wait_for(pilot, lambda: screen.summary is not None and not screen.computing, what="the first summary")
            before = layers(app)
            send_together(app, "a", *"Dense", "enter", "x")
            await wait_for(pilot, lambda: app.screen is screen and layers(app) == before, timeout=10, what="the add and remove")
            await app.workers.wait_for_complete()  # the worker for the five layers too
            await pilot.pause()
            await wait_for(pilot, lambda: not screen.computing, what="the summary")
            fresh = summarize(parse_config(app.workspace.copy()))
            assert [cells(app, i)[5:] for i in range(len(before))] == [[r.output_shape, f"{r.params:,}"] for r in fresh.rows]
            assert screen.summary.total_params == fresh.total_params == 8642
            assert " ".join(screen_text(app).split()).count("total 8,642 params") == 1
