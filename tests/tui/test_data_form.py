"""Data screen: the preview always describes the config's data; names are choices; every source's options are offered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual.widgets import Label, Select

from engine.data import KERAS_DATASETS, SKLEARN_DATASETS, SYNTHETIC
from tui.factory import make_app
from tui.widgets.data_preview import DataPreview

SIZE = (110, 44)
DATA = Path(__file__).resolve().parents[2] / "sample_configs" / "data"
HINT = "press v (or the Preview button) to load the data"


def preview_text(app) -> str:
    return str(app.screen.query_one(DataPreview).render())


def data(app) -> dict:
    return app.workspace.raw["data"]


def options(app, select_id: str) -> list[str]:
    select = app.screen.query_one(select_id, Select)
    return [str(prompt) for prompt, _value in select._options if _value is not Select.NULL]


async def choose(pilot, select_id: str, value: str) -> None:
    """Open a Select (a click opens its list), type the option's name (type-to-search) and press enter."""
    await pilot.click(select_id)
    await pilot.press(*value, "enter")
    await pilot.pause()


async def type_into(pilot, input_id: str, text: str) -> None:
    """Click a field, clear it and type ``text`` (one key at a time, as typed)."""
    await pilot.click(input_id)
    await pilot.press("end", "ctrl+u", *text)
    await pilot.pause()


async def preview(pilot, app) -> str:
    """Press the Preview button (v would type into a focused field) and wait for the data to load."""
    await pilot.click("#preview-btn")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return preview_text(app)


class TestPreviewFollowsTheData:
    """The preview is cleared as soon as the data it shows is no longer the config's."""

    async def test_changing_the_source_clears_the_preview(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "synthetic spirals" in await preview(pilot, app)
            await choose(pilot, "#f-data-source", "csv")
            assert data(app)["source"] == "csv"
            assert "spirals" not in preview_text(app) and HINT in preview_text(app)
            await type_into(pilot, "#f-data-path", str(DATA / "flowers.csv"))
            assert "csv flowers.csv" in await preview(pilot, app)
            await type_into(pilot, "#f-data-validation-split", "0.3")  # any data option: the preview is stale
            assert HINT in preview_text(app)

    async def test_a_preview_loading_when_the_name_changes_never_lands(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.screen.query_one("#f-data-name").focus()
            await pilot.press("v", "enter", *"moons", "enter")  # one write: the spirals preview is still loading
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert data(app)["name"] == "moons"
            assert "spirals" not in preview_text(app), preview_text(app)
            assert "synthetic moons" in await preview(pilot, app)


class TestNames:
    """A named source's dataset is a choice among the names engine.data knows for that source."""

    async def test_each_source_offers_its_own_names(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert options(app, "#f-data-name") == list(SYNTHETIC)
            await choose(pilot, "#f-data-source", "keras")
            assert options(app, "#f-data-name") == list(KERAS_DATASETS)
            assert app.screen.query_one("#f-data-name", Select).is_blank()  # "spirals" is no Keras dataset
            await choose(pilot, "#f-data-name", "cifar100")
            assert data(app)["name"] == "cifar100"
            assert not app.screen.query_one("#row-data-num-words").display
            await choose(pilot, "#f-data-name", "imdb")
            assert app.screen.query_one("#row-data-num-words").display and app.screen.query_one("#row-data-maxlen").display
            await type_into(pilot, "#f-data-num-words", "5000")
            assert data(app)["num_words"] == 5000
            await choose(pilot, "#f-data-source", "sklearn")
            assert options(app, "#f-data-name") == list(SKLEARN_DATASETS)
            await choose(pilot, "#f-data-name", "iris")
            assert data(app)["name"] == "iris"


class TestSourceOptions:
    """csv header and delimiter, HDF5 stream and test data, directory image size are in the form."""

    async def test_csv_header_and_delimiter(self, tiny_config, tmp_path: Path) -> None:
        rng = np.random.default_rng(0)
        rows = [f"{a:.3f};{b:.3f};{int(a > b)}" for a, b in rng.normal(size=(60, 2))]
        (tmp_path / "plain.csv").write_text("\n".join(rows) + "\n")  # no header row, ';' between values
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await choose(pilot, "#f-data-source", "csv")
            await type_into(pilot, "#f-data-path", str(tmp_path / "plain.csv"))
            assert data(app).get("header", True) is True
            await pilot.click("#f-data-header")
            await pilot.pause()
            assert data(app)["header"] is False
            await type_into(pilot, "#f-data-delimiter", ";")
            assert data(app)["delimiter"] == ";"
            await type_into(pilot, "#f-data-features", "0, 1")
            assert data(app)["features"] == ["0", "1"]
            await type_into(pilot, "#f-data-features", "")  # none named: every column but the target
            assert data(app)["features"] is None
            text = await preview(pilot, app)
            assert "2 classes, input (2,)" in text and "cannot load" not in text, text

    async def test_hdf5_stream_and_test_file(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await choose(pilot, "#f-data-source", "hdf5")
            for field, value in (("path", str(DATA / "signals.h5")), ("x", "train/x"), ("y", "train/y")):
                await type_into(pilot, f"#f-data-{field}", value)
            assert app.screen.query_one("#f-data-test-x").disabled  # no test file yet
            await type_into(pilot, "#f-data-test-path", str(DATA / "signals.h5"))
            await type_into(pilot, "#f-data-test-x", "test/x")
            await type_into(pilot, "#f-data-test-y", "test/y")
            assert data(app)["test"] == {"path": str(DATA / "signals.h5"), "x": "test/x", "y": "test/y"}
            await pilot.click("#f-data-stream")
            await pilot.pause()
            assert data(app)["stream"] is True
            text = await preview(pilot, app)
            assert "(streamed)" in text and "test " in text, text
            await type_into(pilot, "#f-data-test-path", "")  # no test file: no data.test section
            assert data(app)["test"] is None

    async def test_directory_image_size(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await choose(pilot, "#f-data-source", "directory")
            assert app.screen.query_one("#f-data-image-size").value == "64, 64"
            await type_into(pilot, "#f-data-image-size", "32, 48")
            assert data(app)["image_size"] == [32, 48]
            await type_into(pilot, "#f-data-image-size", "32")
            error = str(app.screen.query_one("#err-data-image-size", Label).render())
            assert "required" in error, error  # the second dimension is missing
            assert data(app)["image_size"] == [32, 48]
            await choose(pilot, "#f-data-color-mode", "grayscale")
            assert data(app)["color_mode"] == "grayscale"

    async def test_synthetic_classes_input_features_and_limit(self, tiny_config) -> None:
        app = make_app(tiny_config(), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.screen.query_one("#row-data-classes").display  # spirals has classes
            assert not app.screen.query_one("#row-data-features-count").display
            await choose(pilot, "#f-data-name", "blobs")
            assert app.screen.query_one("#row-data-features-count").display
            await type_into(pilot, "#f-data-classes", "4")
            await type_into(pilot, "#f-data-features-count", "5")
            await type_into(pilot, "#f-data-limit", "300")
            assert (data(app)["classes"], data(app)["features_count"], data(app)["limit"]) == (4, 5, 300)
            text = await preview(pilot, app)
            assert "4 classes, input (5,)" in text and "train     300 samples" in text, text
            await type_into(pilot, "#f-data-limit", "")
            assert data(app)["limit"] is None


GRAPH = """\
name: graph
data: {source: npz, path: %(path)s}
model:
  inputs: {image: [4, 4], meta: [3]}
  layers:
    - Flatten: {}
      name: flat
      inputs: [image]
    - Concatenate: {}
      inputs: [flat, meta]
    - Dense: {units: 2, activation: softmax}
      name: label
    - Dense: {units: 1}
      name: score
      inputs: [flat]
  outputs: [label, score]
compile: {loss: {label: sparse_categorical_crossentropy, score: mse}}
"""


class TestNamedArrays:
    """A mapping typed into x / y names one array per input / output; the preview lists each by name."""

    async def test_npz_mapping_typed_in_the_x_and_y_fields(self, tiny_config, tmp_path: Path) -> None:
        rng = np.random.default_rng(0)
        np.savez(tmp_path / "two.npz", img=rng.random((40, 4, 4)), m=rng.random((40, 3)), cls=np.arange(40) % 2,
                 val=rng.random(40))  # fmt: skip
        config = tmp_path / "graph.yaml"
        config.write_text(GRAPH % {"path": tmp_path / "two.npz"}, encoding="utf-8")
        app = make_app(config, warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await type_into(pilot, "#f-data-x", "{image: img, meta: m}")
            await type_into(pilot, "#f-data-y", "{label: cls, score: val}")
            assert data(app)["x"] == {"image": "img", "meta": "m"}
            assert data(app)["y"] == {"label": "cls", "score": "val"}
            text = await preview(pilot, app)
            assert "image (32, 4, 4) float32" in text and "meta (32, 3) float32" in text, text
            assert "label (32,) int32 2 classes" in text and "class balance of label" in text, text
