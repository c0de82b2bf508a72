"""Build screen with graphs: the graph keys, errors on their rows, the drawing, every Keras argument, model files as entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input

from tui.factory import make_app
from tui.screens import graph_edits as edits
from tui.widgets.graph_view import GraphNode, draw_graph

SIZE = (120, 40)

EMPTY = """\
name: branches
seed: 1
data: {source: synthetic, name: two_inputs, samples: 400, classes: 3, validation_split: 0.2}
model:
  layers: []
compile:
  loss: {label: sparse_categorical_crossentropy, score: mse}
  metrics: {label: [accuracy], score: [mae]}
fit: {epochs: 1, batch_size: 64}
"""

GRAPH = """\
name: graph
data: {source: synthetic, name: two_inputs, samples: 400, classes: 3}
model:
  inputs: {image: [8, 8, 1], meta: [3]}
  layers:
    - Conv2D: {filters: 4, kernel_size: 3, padding: same}
      name: c1
      inputs: [image]
    - Conv2D: {filters: 4, kernel_size: 3, padding: same}
      name: c2
    - Add: {}
      name: skip
      inputs: [c1, c2]
    - GlobalAveragePooling2D: {}
      name: pooled
    - Concatenate: {}
      name: both
      inputs: [pooled, meta]
    - Dense: {units: 3, activation: softmax}
      name: label
    - Dense: {units: 1}
      name: score
      inputs: [both]
  outputs: [label, score]
compile:
  loss: {label: sparse_categorical_crossentropy, score: mse}
"""


def model(app: Any) -> dict[str, Any]:
    return app.workspace.raw["model"]


def cells(app: Any, row: int) -> list[str]:
    return [str(c) for c in app.screen.query_one("#layers", DataTable).get_row_at(row)]


async def row_error(pilot: Any, row: int) -> str:
    """The whole message of a row (its cell may be cut), as shown below the table when the row is selected."""
    pilot.app.screen.query_one("#layers", DataTable).move_cursor(row=row)
    await pilot.pause()
    return str(pilot.app.screen.query_one("#model-foot").render())


async def type_text(pilot: Any, text: str) -> None:
    pilot.app.screen.query_one(Input).insert_text_at_cursor(text)
    await pilot.pause()


async def settled(pilot: Any, wait_for: Any) -> None:
    await wait_for(pilot, lambda: not pilot.app.screen.computing and pilot.app.screen.summary is not None, what="Keras")
    await pilot.pause()


@pytest.fixture
def config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "graph.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


class TestGraphKeys:
    """A two-branch model (two inputs, a Concatenate, two outputs) built from an empty layer list with the keyboard."""

    async def test_two_inputs_a_merge_and_two_outputs(self, config, wait_for) -> None:
        app = make_app(config(EMPTY), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            for typed in ("image [8, 8, 1]", "meta [3]"):  # I: a model input, by name and shape
                await pilot.press("I")
                await type_text(pilot, typed)
                await pilot.press("enter")
            assert model(app)["inputs"] == {"image": [8, 8, 1], "meta": [3]}
            await pilot.press("a", *"Flatten", "enter")
            # Two inputs and no choice yet: the row says so at once.
            assert cells(app, 0)[3].startswith("⚠ inputs: the model has 2 inputs")
            assert "model.layers[0]: inputs: the model has 2 inputs (image, meta); list the ones this layer takes" in (
                await row_error(pilot, 0))
            await pilot.press("w", "space", "enter")  # w: its inputs, image marked
            await pilot.press("+", "enter")  # +: a Concatenate …
            await pilot.press("down", "space", "down", "space", "enter")  # … of meta and the Flatten, in that order
            await pilot.press("a", *"Dense", "enter", "n")
            await type_text(pilot, "label")
            await pilot.press("enter", "a", *"Dense", "enter", "n")
            await type_text(pilot, "score")
            await pilot.press("enter", "w", "down", "down", "down", "space", "enter")  # score takes the Concatenate
            await pilot.press("up", "o")  # label becomes an output beside the last layer
            layers = model(app)["layers"]
            assert layers[0] == {"Flatten": {}, "inputs": ["image"], "name": "flatten"}  # named when chosen
            assert layers[1] == {"Concatenate": {}, "name": "concatenate", "inputs": ["meta", "flatten"]}
            assert layers[2] == {"Dense": {"units": 16}, "name": "label"}
            assert layers[3] == {"Dense": {"units": 16}, "name": "score", "inputs": ["concatenate"]}
            assert model(app)["outputs"] == ["label", "score"]
            await pilot.press("down", "e", "ctrl+u", "1", "enter")  # the editor changes the arguments only
            assert model(app)["layers"][3] == {"Dense": {"units": 1}, "name": "score", "inputs": ["concatenate"]}
            await settled(pilot, wait_for)
            assert app.screen.summary.error is None
            assert [r.inputs for r in app.screen.summary.rows][1:] == [["meta", "flatten"], ["concatenate"], ["concatenate"]]
            assert cells(app, 1)[4] == "meta, flatten" and cells(app, 1)[5] == "(None, 67)"
            assert cells(app, 3)[5] == "(None, 1)"

    async def test_a_rename_follows_into_inputs_and_outputs(self, config, wait_for) -> None:
        app = make_app(config(GRAPH), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("n", "ctrl+u")
            await type_text(pilot, "conv")
            await pilot.press("enter")
            assert model(app)["layers"][2]["inputs"] == ["conv", "c2"]
            await pilot.press("down", "n", "ctrl+u")
            await type_text(pilot, "conv")  # taken: refused in the prompt
            await pilot.press("enter")
            assert "'conv' is already the name of model.layers[0]" in str(app.screen.query_one("#prompt-error").render())
            await pilot.press("escape", *["down"] * 5, "n", "ctrl+u")
            await type_text(pilot, "value")
            await pilot.press("enter")
            assert model(app)["outputs"] == ["label", "value"]


class TestRowErrors:
    """The engine's messages on the offending row, at once: by name (no Keras) and from Keras (shapes)."""

    async def test_wiring_errors_by_name(self, config, wait_for) -> None:
        text = GRAPH.replace("inputs: [pooled, meta]", "inputs: [poled, meta]").replace("name: c2", "name: c1")
        app = make_app(config(text.replace("outputs: [label, score]", "outputs: [label, scor]")), warm_up=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "name: 'c1' is already the name of model.layers[0]" in await row_error(pilot, 1)
            assert cells(app, 1)[3].startswith("⚠ name: 'c1' is already")
            assert "model.layers[4]: inputs: 'poled' is not an input or an earlier layer (did you mean 'pooled'?)" in (
                await row_error(pilot, 4))
            head = str(app.screen.query_one("#model-head").render())
            assert "model.outputs[1]: 'scor' is not a layer (did you mean 'score'?)" in head

    async def test_data_without_an_input_still_shows_the_shapes(self, config, wait_for) -> None:
        text = GRAPH.replace("data: {source: synthetic, name: two_inputs, samples: 400, classes: 3}",
                             "data: {source: npz, path: d.npz, x: {image: xi}, y: {label: yl, score: ys}}")  # fmt: skip
        app = make_app(config(text), warm_up=False)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot, wait_for)
            assert "data.x: no data for input 'meta'" in str(app.screen.summary.error)
            assert cells(app, 4)[5] == "(None, 7)"  # Keras' shapes all the same

    async def test_a_forward_reference_and_a_merge_keras_refuses(self, config, wait_for) -> None:
        text = GRAPH.replace("inputs: [c1, c2]", "inputs: [c1, label]")
        app = make_app(config(text), warm_up=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "'label' is not an input or an earlier layer: it is model.layers[5]" in (
                await row_error(pilot, 2))
            # Keras' own check: an Add of 4 and 8 channels.
            app.workspace.set("model.layers", [*model(app)["layers"][:1],
                                               {"Conv2D": {"filters": 8, "kernel_size": 3, "padding": "same"}, "name": "c2"},
                                               {"Add": {}, "name": "skip", "inputs": ["c1", "c2"]}])  # fmt: skip
            app.workspace.set("model.outputs", None)
            await settled(pilot, wait_for)
            assert "Add needs inputs of one shape, got (None, 8, 8, 4) and (None, 8, 8, 8)" in await row_error(pilot, 2)


class TestGraphDrawing:
    """g shows a drawing of the graph: inputs, forks and joins, outputs."""

    def test_lanes_fork_and_join(self) -> None:
        nodes = [GraphNode("image", "input", is_input=True), GraphNode("meta", "input", is_input=True),
                 GraphNode("c1", "Conv2D", sources=("image",)), GraphNode("c2", "Conv2D", sources=("c1",)),
                 GraphNode("skip", "Add", sources=("c1", "c2")), GraphNode("both", "Concatenate", sources=("skip", "meta")),
                 GraphNode("label", "Dense", sources=("both",), is_output=True),
                 GraphNode("score", "Dense", sources=("both",), is_output=True)]  # fmt: skip
        lines = [line.plain.rstrip() for line in draw_graph(nodes)]
        assert lines == [
            "◆   image  input",
            "●   c1  Conv2D",
            "├─┐",
            "│ ● c2  Conv2D",
            "├─┘",
            "●   skip  Add",
            "│ ◆ meta  input",
            "├─┘",
            "●   both  Concatenate",
            "├─┐",
            "│ ◉ label  Dense  → output",
            "◉   score  Dense  → output",
        ]

    async def test_g_toggles_the_drawing(self, config, wait_for) -> None:
        app = make_app(config(GRAPH), warm_up=False, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot, wait_for)
            await pilot.press("g")
            drawing = str(app.screen.query_one("#graph").render())
            assert "◆   image  input  (8, 8, 1)" in drawing and "├─┘" in drawing
            assert "◉   score  Dense  (None, 1)  → output" in drawing
            assert not app.screen.query_one("#layers").display
            await pilot.press("g")
            assert app.screen.query_one("#layers").display


class TestEveryKerasArgument:
    """The layer editor offers every argument of the Keras class, described, cached per Keras version."""

    async def test_all_arguments_then_from_the_cache(self, tiny_config, wait_for, tmp_path) -> None:
        from engine.layer_args import keras_version

        app = make_app(tiny_config(), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("e")
            assert app.screen.__class__.__name__ == "LayerEditor" and not app.screen.complete
            await wait_for(pilot, lambda: "kernel_initializer" in app.screen.arg_names, what="Keras' arguments")
            names = app.screen.arg_names
            assert names[:3] == ["units", "activation", "use_bias"]  # the catalogue's first
            assert {"kernel_initializer", "bias_constraint", "lora_rank"} <= set(names)
            field = app.screen.query_one("#arg-kernel_initializer", Input)
            assert field.placeholder == "default glorot_uniform"
            field.focus()
            await pilot.pause()
            assert "Initializer for the kernel weights matrix." in str(app.screen.query_one("#err-kernel_initializer").render())
            field.value = "he_n"
            await pilot.pause()
            assert field._suggestion == "he_normal"  # the names it takes, suggested
            field.value = "he_normal"
            await pilot.press("enter")
            assert model(app)["layers"][0] == {"Dense": {"units": 16, "activation": "relu", "kernel_initializer": "he_normal"}}
            cache = tmp_path / "cache" / "kwb" / f"keras-{keras_version()}" / "layer_args.json"
            assert cache.exists()
            await pilot.press("e")  # now every argument at once, from the cache
            assert app.screen.complete and "kernel_initializer" in app.screen.arg_names


class TestModelFileAsEntries:
    """m opens a functional .keras as editable entries; ctrl+s writes YAML that builds the same architecture."""

    async def test_open_edit_save_rebuild(self, config, tmp_path, wait_for) -> None:
        from engine.config_io import load_config
        from engine.kerasapi import keras
        from engine.model import build_model

        k = keras()
        image, meta = k.Input((8, 8, 1), name="image"), k.Input((3,), name="meta")
        c = k.layers.Conv2D(4, 3, name="c")(image)
        both = k.layers.Concatenate(name="both")([k.layers.Flatten(name="flat")(c), meta])
        original = k.Model([image, meta], [k.layers.Dense(3, name="label")(both), k.layers.Dense(1, name="score")(both)])
        original.save(tmp_path / "saved.keras")
        app = make_app(config(EMPTY), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("m", "ctrl+u")
            await type_text(pilot, "saved.keras")
            await pilot.press("enter")
            await wait_for(pilot, lambda: bool(model(app)["layers"]), what="the model file")
            assert model(app)["inputs"] == {"image": [8, 8, 1], "meta": [3]}
            assert model(app)["outputs"] == ["label", "score"]
            await settled(pilot, wait_for)
            assert [cells(app, i)[1] for i in range(5)] == ["c", "flat", "both", "label", "score"]
            assert cells(app, 2)[4] == "flat, meta"
            await pilot.press("ctrl+s")
            await pilot.pause()
        rebuilt = build_model(load_config(tmp_path / "graph.yaml"))
        assert rebuilt.count_params() == original.count_params()
        assert [type(x).__name__ for x in rebuilt.layers] == [type(x).__name__ for x in original.layers]


    async def test_a_config_with_model_path_opens_on_an_edit_key(self, config, tmp_path, wait_for) -> None:
        from engine.kerasapi import keras

        k = keras()
        k.Sequential([k.Input((2,)), k.layers.Dense(4), k.layers.Dense(3)]).save(tmp_path / "seq.keras")
        app = make_app(config(EMPTY.replace("layers: []", "path: seq.keras")), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot, wait_for)
            assert [cells(app, i)[2] for i in range(2)] == ["Dense", "Dense"]  # the file's layers, as they are
            await pilot.press("e")  # an edit key opens them as entries
            await wait_for(pilot, lambda: bool(model(app).get("layers")), what="the entries")
            assert model(app)["layers"] == [{"Dense": {"units": 4}}, {"Dense": {"units": 3}}]
            assert model(app)["input_shape"] == [2] and not model(app).get("path")

    async def test_a_model_entries_cannot_express_is_used_as_it_is(self, config, tmp_path, wait_for) -> None:
        from engine.kerasapi import keras

        k = keras()
        a, b = k.Input((3,), name="a"), k.Input((3,), name="b")
        shared = k.layers.Dense(2, name="shared")
        k.Model([a, b], k.layers.Add(name="sum")([shared(a), shared(b)])).save(tmp_path / "shared.keras")
        app = make_app(config(EMPTY), warm_up=False, cursor_blink=False)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("m", "ctrl+u")
            await type_text(pilot, "shared.keras")
            await pilot.press("enter")
            await wait_for(pilot, lambda: bool(model(app).get("path")), what="the model file")
            await pilot.pause()
            shown = " ".join(str(n.message) for n in app._notifications)
            assert "used as it is (read only): layer 'shared' (Dense) is called 2 times (shared weights)" in shown


class TestGraphEdits:
    """The edits the keys make, as pure functions of the model section."""

    def test_toggle_output_keeps_the_last_layer_and_layer_order(self) -> None:
        section = {"layers": [{"Dense": {"units": 2}}, {"Dense": {"units": 1}}]}
        changes, now = edits.toggle_output(section, 0)
        assert now and changes["model.outputs"] == ["dense", "dense_1"]
        assert changes["model.layers"] == [{"Dense": {"units": 2}, "name": "dense"}, {"Dense": {"units": 1}, "name": "dense_1"}]
        assert edits.toggle_output(section, 1) == ({}, True)  # the last layer is the output already

    def test_inputs_from_a_plain_stack(self) -> None:
        section = {"input_shape": [2], "layers": [{"Dense": {"units": 2}}]}
        assert edits.add_input(section, "meta", [3]) == {"model.inputs": {"input": [2], "meta": [3]}, "model.input_shape": None}
        assert edits.remove_input({"inputs": {"input": [2], "meta": [3]}}, "meta") == {
            "model.inputs": None, "model.input_shape": [2]}  # fmt: skip

    def test_names_as_keras_gives_them(self) -> None:
        assert edits.unique_name("GlobalAveragePooling2D", {"global_average_pooling2d"}) == "global_average_pooling2d_1"
