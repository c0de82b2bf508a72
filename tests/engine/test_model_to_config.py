"""engine.model_to_config: a saved model's get_config() becomes layer entries that build the same architecture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import pytest
import yaml

from engine.config_io import parse_config
from engine.errors import ModelError
from engine.model import build_model, load_model_file
from engine.model_to_config import model_section


def _graph() -> keras.Model:
    image, meta = keras.Input((8, 8, 1), name="image"), keras.Input((3,), name="meta")
    c1 = keras.layers.Conv2D(4, 3, padding="same", kernel_initializer="he_normal",
                             kernel_regularizer=keras.regularizers.L2(0.01), name="c1")(image)  # fmt: skip
    c2 = keras.layers.Conv2D(4, 3, padding="same", name="c2")(c1)
    pooled = keras.layers.GlobalAveragePooling2D(name="pooled")(keras.layers.Add(name="skip")([c1, c2]))
    both = keras.layers.Concatenate(name="both")([pooled, meta])
    label = keras.layers.Dense(3, activation="softmax", name="label")(both)
    score = keras.layers.Dense(1, name="score")(keras.layers.Dropout(0.25, name="drop")(both))
    return keras.Model([image, meta], [label, score])


def _rebuilt(section: dict[str, Any], tmp_path: Path) -> keras.Model:
    """Through YAML text and the config schema, as ctrl+s then kwb train would."""
    raw = {
        "name": "rebuilt",
        "data": {"source": "synthetic", "name": "spirals"},
        "model": section,
        "compile": {"loss": "mse"},
    }
    text = yaml.safe_dump(raw, sort_keys=False)
    return build_model(parse_config(yaml.safe_load(text), base_dir=tmp_path))


def _classes(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


class TestSavedModelsBecomeEntries:
    """A .keras or .h5 file, Sequential or functional, becomes entries that train the same architecture."""

    @pytest.mark.parametrize("suffix", [".keras", ".h5"])
    def test_a_graph_round_trips(self, tmp_path: Path, suffix: str) -> None:
        original = _graph()
        path = tmp_path / f"graph{suffix}"
        original.save(path)
        section = model_section(load_model_file(str(path)))
        assert section["inputs"] == {"image": [8, 8, 1], "meta": [3]}
        assert section["outputs"] == ["label", "score"]
        by_name = {e["name"]: e for e in section["layers"]}
        assert by_name["skip"] == {"Add": {}, "name": "skip", "inputs": ["c1", "c2"]}
        assert by_name["both"]["inputs"] == ["pooled", "meta"]
        assert "inputs" not in by_name["c2"]  # takes the layer above: the default
        assert by_name["c1"]["Conv2D"] == {"filters": 4, "kernel_size": [3, 3], "padding": "same",
                                           "kernel_initializer": "he_normal", "kernel_regularizer": {"l2": 0.01}}
        assert by_name["drop"]["Dropout"] == {"rate": 0.25}
        rebuilt = _rebuilt(section, tmp_path)
        assert rebuilt.count_params() == original.count_params()
        assert _classes(rebuilt) == _classes(original)
        assert [t.name for t in rebuilt.inputs] == ["image", "meta"]
        assert list(rebuilt.output_names) == ["label", "score"]

    def test_a_sequential_model_is_a_plain_stack(self, tmp_path: Path) -> None:
        original = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"),
                                     keras.layers.Dropout(0.2), keras.layers.Dense(3, activation="softmax")])  # fmt: skip
        original.save(tmp_path / "seq.keras")
        section = model_section(load_model_file(str(tmp_path / "seq.keras")))
        assert section == {
            "input_shape": [2],
            "layers": [{"Dense": {"units": 16, "activation": "relu"}}, {"Dropout": {"rate": 0.2}},
                       {"Dense": {"units": 3, "activation": "softmax"}}],
        }  # fmt: skip
        rebuilt = _rebuilt(section, tmp_path)
        assert rebuilt.count_params() == original.count_params() == 99


class TestWhatEntriesCannotSay:
    """Models the entries cannot express are refused with the layer named and the reason."""

    def test_a_custom_layer(self) -> None:
        class Twice(keras.layers.Layer):
            def call(self, x: Any) -> Any:
                return x * 2

        x = keras.Input((3,), name="x")
        model = keras.Model(x, keras.layers.Dense(1)(Twice(name="twice")(x)))
        with pytest.raises(ModelError, match=r"layer 'twice' is a Twice, not one of Keras' own layers") as info:
            model_section(model)
        assert info.value.key == "model.path"

    def test_a_shared_layer(self) -> None:
        a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
        shared = keras.layers.Dense(2, name="shared")
        model = keras.Model([a, b], keras.layers.Add()([shared(a), shared(b)]))
        with pytest.raises(ModelError, match=r"layer 'shared' \(Dense\) is called 2 times"):
            model_section(model)

    def test_a_dimension_of_any_size(self) -> None:
        x = keras.Input((None, 4), name="seq")
        model = keras.Model(x, keras.layers.GlobalAveragePooling1D()(x))
        with pytest.raises(ModelError, match=r"input 'seq' takes samples of shape \(None, 4\)"):
            model_section(model)
