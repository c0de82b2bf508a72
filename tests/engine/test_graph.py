"""Graph models: model.inputs/outputs and wired layers in the schema, the functional builder, compile, data checks, saving."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import yaml

from engine.config_io import load_config, parse_config
from engine.data.bundle import DataBundle, Target
from engine.errors import ConfigError, DataError, ModelError
from engine.graph import output_names
from engine.graph_spec import Source, resolve_graph
from engine.model import build_model, check_against_data, compile_model, summarize, summary_of
from engine.session import expected_metric_names

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_configs" / "two_inputs.yaml"


def sample_raw() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE.read_text())


def issues_of(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return info.value.issues


def two_input_arrays(n: int = 64, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = {"image": rng.random((n, 8, 8, 1), dtype="float32"), "meta": rng.random((n, 3), dtype="float32")}
    y = {"label": rng.integers(0, 3, n), "score": rng.random(n, dtype="float32")}
    return x, y


def bundle(x: Any, y: Any, **kw: Any) -> DataBundle:
    shapes = {k: v.shape[1:] for k, v in x.items()} if isinstance(x, dict) else x.shape[1:]
    return DataBundle(x_train=x, y_train=y, x_val=None, y_val=None, x_test=None, y_test=None, input_shape=shapes, **kw)


class TestGraphSchema:
    """model.inputs, layer names and inputs, model.outputs and the mappings keyed by them are checked by name."""

    def test_the_sample_parses_with_its_names(self):
        cfg = load_config(SAMPLE)
        assert cfg.model.input_names() == ["image", "meta"]
        assert cfg.model.output_names() == ["label", "score"]

    def test_a_plain_stack_keeps_one_unnamed_output(self):
        cfg = load_config(ROOT / "sample_configs" / "spirals.yaml")
        assert (cfg.model.input_names(), cfg.model.output_names()) == (["input"], [])

    def test_inputs_and_input_shape_together(self):
        raw = sample_raw()
        raw["model"]["input_shape"] = [3]
        assert issues_of(raw) == [("model.inputs", "give model.inputs or model.input_shape, not both")]

    def test_an_input_shape_must_be_positive(self):
        raw = sample_raw()
        raw["model"]["inputs"]["meta"] = [0]
        assert issues_of(raw) == [("model.inputs.meta", "every dimension must be a positive integer, got 0")]

    def test_a_layer_entry_has_one_layer_key(self):
        raw = sample_raw()
        raw["model"]["layers"][3] = {"MaxPooling2D": {}, "Flatten": {}, "name": "pooled"}
        assert issues_of(raw) == [(
            "model.layers[3]",
            "must have exactly one {LayerName: {arguments}} key (besides name and inputs), got 'MaxPooling2D', 'Flatten'",
        )]  # fmt: skip

    def test_layer_inputs_must_be_names(self):
        raw = sample_raw()
        raw["model"]["layers"][2]["inputs"] = ["c1", 3]
        assert issues_of(raw) == [("model.layers[2].inputs", "must be a list of input or layer names, got ['c1', 3]")]

    def test_a_layer_cannot_take_itself(self):
        raw = sample_raw()
        raw["model"]["layers"][2]["inputs"] = ["c1", "skip"]
        assert issues_of(raw) == [
            ("model.layers[2].inputs", "'skip' is this layer itself (a layer takes inputs only from layers above it)")
        ]

    def test_a_layer_name_cannot_be_an_input_name(self):
        raw = sample_raw()
        raw["model"]["layers"][0]["name"] = "meta"
        issues = issues_of(raw)
        assert issues[0] == ("model.layers[0].name", "'meta' is already a model input")

    def test_the_first_layer_of_several_inputs_must_say_which(self):
        raw = sample_raw()
        del raw["model"]["layers"][0]["inputs"]
        assert issues_of(raw)[0] == (
            "model.layers[0].inputs", "the model has 2 inputs (image, meta); list the ones this layer takes"
        )

    @pytest.mark.parametrize(
        ("key", "value", "expected"),
        [
            ("loss", {"label": "sparse_categorical_crossentropy", "scroe": "mse"},
             ("compile.loss", "'scroe' is not an output (did you mean 'score'?)")),
            ("loss", {"label": "sparse_categorical_crossentropy"}, ("compile.loss", "no loss for output 'score'")),
            ("metrics", {"labl": ["accuracy"]}, ("compile.metrics", "'labl' is not an output (did you mean 'label'?)")),
            ("loss_weights", {"label": 1.0}, ("compile.loss_weights", "no weight for output 'score'")),
            ("loss_weights", [1.0], ("compile.loss_weights", "the model has 2 outputs, got 1 weights")),
        ],
    )  # fmt: skip
    def test_compile_mappings_are_keyed_by_output(self, key: str, value: Any, expected: tuple[str, str]):
        raw = sample_raw()
        raw["compile"][key] = value
        assert issues_of(raw) == [expected]

    def test_per_output_loss_and_metric_names_are_checked(self):
        raw = sample_raw()
        raw["compile"]["loss"]["score"] = "mse_"
        raw["compile"]["metrics"]["score"] = ["mea"]
        keys = [k for k, _ in issues_of(raw)]
        assert keys == ["compile.loss.score", "compile.metrics.score[0]"]

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ({"x": {"image": "a"}}, ("data.x", "no data for input 'meta'")),
            ({"x": {"image": "a", "meta": "b", "mata": "c"}}, ("data.x", "'mata' is not a model input (did you mean 'meta'?)")),
            ({"x": "a"}, ("data.x", "the model has 2 inputs (image, meta); map each to its data: x: {image: ..., meta: ...}")),
            ({"y": {"label": "l"}}, ("data.y", "no data for output 'score'")),
            ({"validation": {"path": "v.npz", "x": {"image": "a"}}}, ("data.validation.x", "no data for input 'meta'")),
        ],
    )  # fmt: skip
    def test_data_mappings_are_keyed_by_input_and_output(self, data: dict[str, Any], expected: tuple[str, str]):
        raw = sample_raw()
        raw["data"] = {"source": "npz", "path": "d.npz", **data}
        assert issues_of(raw) == [expected]


class TestResolve:
    """resolve_graph wires each layer to a model input or an earlier layer, with no Keras."""

    def test_defaults_are_the_layer_above_and_the_one_input(self):
        spec, issues = resolve_graph(None, [2], [{"Dense": {"units": 3}}, {"Dense": {"units": 1}}], None)
        assert issues == [] and spec is not None
        assert spec.sources == [[Source("input")], [Source("model.layers[0]", 0)]]
        assert spec.outputs == [1] and spec.inputs == {"input": (2,)}

    def test_a_plain_stack_can_name_its_one_input(self):
        layers = [{"Dense": {"units": 3}, "name": "h"}, {"Concatenate": {}, "inputs": ["input", "h"]}]
        spec, issues = resolve_graph(None, [2], layers, None)
        assert issues == [] and spec is not None and spec.sources[1] == [Source("input"), Source("h", 0)]

    def test_every_problem_is_reported(self):
        layers = [{"Dense": {}, "name": "a", "inputs": ["x"]}, {"Dense": {}, "name": "a"}]
        _, issues = resolve_graph({"x": [2]}, None, layers, ["a", "b"])
        assert issues == [
            ("model.layers[1].name", "'a' is already the name of model.layers[0]"),
            ("model.outputs[1]", "'b' is not a layer"),
        ]


class TestBuilder:
    """build_model uses Keras' functional API: named inputs and layers, merges checked by Keras, named outputs."""

    def test_the_sample_builds_with_its_names_and_connections(self):
        model = build_model(load_config(SAMPLE))
        assert [t.name for t in model.inputs] == ["image", "meta"]
        assert output_names(model) == ["label", "score"]
        rows = {r.name: r for r in summary_of(model).rows}
        assert rows["skip"].inputs == ["c1", "c2"] and rows["skip"].class_name == "Add"
        assert rows["both"].inputs == ["flat", "meta"]
        assert rows["c1"].inputs == ["image"] and rows["c2"].inputs == ["c1"]
        assert (rows["label"].output_shape, rows["score"].output_shape) == ("(None, 3)", "(None, 1)")

    def test_summarize_matches_the_built_model(self):
        cfg = load_config(SAMPLE)
        s = summarize(cfg)
        assert s.error is None
        built = summary_of(build_model(cfg))
        assert [(r.name, r.class_name, r.output_shape, r.params, r.inputs) for r in s.rows] == [
            (r.name, r.class_name, r.output_shape, r.params, r.inputs) for r in built.rows
        ]
        assert s.total_params == built.total_params == build_model(cfg).count_params()

    def test_a_plain_stack_is_built_as_before(self):
        cfg = load_config(ROOT / "sample_configs" / "spirals.yaml")
        model = build_model(cfg)
        assert [t.name for t in model.inputs] == ["input"] and not isinstance(model.output, list)
        assert [r.inputs for r in summary_of(model).rows][0] == ["input"]

    def test_a_merge_of_two_shapes_names_the_layer_and_both_shapes(self):
        raw = sample_raw()
        raw["model"]["layers"][1]["Conv2D"]["filters"] = 4
        cfg = parse_config(raw)
        with pytest.raises(ModelError) as info:
            build_model(cfg)
        assert (info.value.key, info.value.message) == (
            "model.layers[2]", "Add needs inputs of one shape, got (None, 8, 8, 8) and (None, 8, 8, 4)"
        )
        s = summarize(cfg)
        assert s.error == "model.layers[2]: Add needs inputs of one shape, got (None, 8, 8, 8) and (None, 8, 8, 4)"
        assert [(r.name, r.output_shape) for r in s.rows[:4]] == [
            ("c1", "(None, 8, 8, 8)"), ("c2", "(None, 8, 8, 4)"), ("skip", "?"), ("pooled", "?"),
        ]  # fmt: skip
        assert s.rows[2].error is not None and s.rows[3].error is None

    def test_a_failing_branch_leaves_the_other_built(self):
        raw = sample_raw()
        raw["model"]["layers"].insert(0, {"Dense": {"units": 4}, "name": "m2", "inputs": ["meta"]})
        raw["model"]["layers"].insert(1, {"Conv1D": {"filters": 2, "kernel_size": 3}, "name": "bad", "inputs": ["meta"]})
        s = summarize(parse_config(raw))
        rows = {r.name: r for r in s.rows}
        assert rows["m2"].output_shape == "(None, 4)" and rows["c1"].output_shape == "(None, 8, 8, 8)"
        assert rows["bad"].output_shape == "?" and rows["bad"].error is not None
        assert s.error is not None and s.error.startswith("model.layers[1].Conv1D: does not fit its input of shape (None, 3)")

    def test_a_concatenate_mismatch_quotes_keras(self):
        raw = sample_raw()
        raw["model"]["layers"][5]["inputs"] = ["pooled", "meta"]
        with pytest.raises(ModelError) as info:
            build_model(parse_config(raw))
        assert info.value.key == "model.layers[5]"
        assert info.value.message.startswith("Concatenate cannot take inputs of shapes (None, 4, 4, 8) and (None, 3): ")


class TestCompileAndFit:
    """Per-output losses, metrics and weights reach Keras; the log keys are the ones expected_metric_names lists."""

    def fit(self, cfg: Any, epochs: int = 1) -> tuple[Any, dict[str, list[float]]]:
        model = compile_model(build_model(cfg), cfg)
        x, y = two_input_arrays()
        history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, validation_data=two_input_arrays(32, 1))
        return model, history.history

    def test_history_keys_are_the_expected_names(self):
        cfg = load_config(SAMPLE)
        _, history = self.fit(cfg)
        expected = expected_metric_names(cfg, has_validation=True)
        assert set(history) == set(expected)
        assert {"label_accuracy", "val_score_mae", "score_loss"} <= set(expected)

    def test_a_metrics_list_and_one_loss_apply_to_every_output(self):
        raw = sample_raw()
        raw["compile"].update(loss="mse", metrics=["mae"])
        del raw["compile"]["loss_weights"]
        cfg = parse_config(raw)
        model = compile_model(build_model(cfg), cfg)
        x, y = two_input_arrays()
        y["label"] = np.eye(3, dtype="float32")[y["label"]]  # mse on the class probabilities
        history = model.fit(x, y, epochs=1, verbose=0).history
        assert set(history) == set(expected_metric_names(cfg, False))
        assert {"label_mae", "score_mae", "label_loss"} <= set(history)

    def test_loss_weights_weigh_the_total(self):
        raw = sample_raw()
        raw["compile"]["loss_weights"] = {"label": 1.0, "score": 0.25}
        cfg = parse_config(raw)
        model = compile_model(build_model(cfg), cfg)
        x, y = two_input_arrays()
        res = model.evaluate(x, y, verbose=0, return_dict=True)
        assert res["loss"] == pytest.approx(res["label_loss"] + 0.25 * res["score_loss"], rel=1e-4)

    def test_one_named_output_logs_like_a_stack(self):
        raw = {
            "model": {"input_shape": [3], "layers": [{"Dense": {"units": 2, "activation": "softmax"}, "name": "label"}]},
            "compile": {"loss": {"label": "sparse_categorical_crossentropy"}, "metrics": {"label": ["accuracy"]}},
        }
        cfg = parse_config(raw)
        model = compile_model(build_model(cfg), cfg)
        x = np.random.default_rng(0).random((16, 3), dtype="float32")
        history = model.fit(x, np.arange(16) % 2, epochs=1, verbose=0).history
        assert set(history) == set(expected_metric_names(cfg, False, output_names(model))) == {"loss", "accuracy"}


class TestSavedModel:
    """model.keras of a graph loads in plain Keras with its named inputs and outputs."""

    def test_saved_graph_loads_in_plain_keras(self, tmp_path: Path):
        cfg = load_config(SAMPLE)
        model = compile_model(build_model(cfg), cfg)
        x, y = two_input_arrays(8)
        model.fit(x, y, epochs=1, verbose=0)  # saved with its optimizer state and per-output compile config
        model.save(tmp_path / "model.keras")
        loaded = keras.models.load_model(tmp_path / "model.keras")
        assert [t.name for t in loaded.inputs] == ["image", "meta"]
        assert list(loaded.output_names) == ["label", "score"]
        before, after = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
        for a, b in zip(before, after):
            np.testing.assert_allclose(a, b, rtol=1e-5)
        assert [r.inputs for r in summary_of(loaded).rows] == [r.inputs for r in summary_of(model).rows]


    def test_a_loaded_graph_compiles_per_output(self, tmp_path: Path):
        build_model(load_config(SAMPLE)).save(tmp_path / "g.keras")
        raw = {"model": {"path": str(tmp_path / "g.keras")},
               "compile": {"loss": {"label": "sparse_categorical_crossentropy", "scroe": "mse"}}}  # fmt: skip
        cfg = parse_config(raw)
        model = build_model(cfg)
        with pytest.raises(ModelError) as info:
            compile_model(model, cfg)
        assert (info.value.key, info.value.message) == ("compile.loss", "'scroe' is not an output (did you mean 'score'?)")
        raw["compile"] = {"loss": {"label": "sparse_categorical_crossentropy", "score": "mse"}, "metrics": {"score": ["mae"]}}
        cfg = parse_config(raw)
        compile_model(model, cfg)
        x, y = two_input_arrays(16)
        history = model.fit(x, y, epochs=1, verbose=0).history
        assert set(history) == set(expected_metric_names(cfg, False, output_names(model)))
        assert {"label_loss", "score_mae"} <= set(history)


class TestAgainstData:
    """check_against_data compares each named input and output with the data, naming the key to fix."""

    def check(self, x: Any, y: Any, raw: dict[str, Any] | None = None, **kw: Any) -> None:
        cfg = parse_config(raw or sample_raw())
        check_against_data(build_model(cfg), cfg, bundle(x, y, **kw))

    def targets(self) -> dict[str, Any]:
        return {"output_names": ("label", "score"),
                "targets": {"label": Target("classification", 3), "score": Target("regression")}}  # fmt: skip

    def test_matching_data_passes(self):
        x, y = two_input_arrays()
        assert self.check(x, y, **self.targets()) is None  # no DataError

    def test_an_input_with_no_data(self):
        x, y = two_input_arrays()
        del x["meta"]
        with pytest.raises(DataError) as info:
            self.check(x, y, **self.targets())
        assert (info.value.key, info.value.message) == ("data.x", "no data for input 'meta'")

    def test_one_array_for_two_inputs(self):
        x, y = two_input_arrays()
        with pytest.raises(DataError) as info:
            self.check(x["meta"], y, **self.targets())
        assert info.value.key == "data.x" and info.value.message.startswith("the model has 2 inputs (image, meta)")

    def test_an_input_of_another_shape(self):
        x, y = two_input_arrays()
        x["meta"] = np.zeros((64, 4), "float32")
        with pytest.raises(ModelError) as info:
            self.check(x, y, **self.targets())
        assert (info.value.key, info.value.message) == (
            "model.inputs.meta", "the model takes samples of shape (3) but the data's are (4)"
        )

    def test_a_class_count_per_output(self):
        x, y = two_input_arrays()
        targets = self.targets()
        targets["targets"]["label"] = Target("classification", 5)
        with pytest.raises(ModelError) as info:
            self.check(x, y, **targets)
        assert (info.value.key, info.value.message) == (
            "model.layers[7].Dense.units", "the output 'label' outputs 3 values but the data has 5 classes (set its units to 5)"
        )

    def test_two_data_inputs_for_a_stack(self):
        x, y = two_input_arrays()
        raw = {"model": {"input_shape": [3], "layers": [{"Dense": {"units": 3, "activation": "softmax"}}]}}
        with pytest.raises(ModelError) as info:
            self.check(x, y["label"], raw, num_classes=3)
        assert (info.value.key, info.value.message) == ("model.inputs", (
            "the data has 2 inputs (image, meta) and the model one: name them in model.inputs with their shapes, "
            "e.g. inputs: {image: [8, 8, 1], meta: [3]}"
        ))  # fmt: skip
        del raw["model"]["input_shape"]
        with pytest.raises(ModelError) as info:
            build_model(parse_config(raw), {"image": (8, 8, 1), "meta": (3,)})
        assert info.value.key == "model.inputs" and info.value.message.startswith("the data has 2 inputs (image, meta): ")

    def test_one_target_for_two_outputs(self):
        x, y = two_input_arrays()
        with pytest.raises(DataError) as info:
            self.check(x, y["label"], num_classes=3)
        assert info.value.key == "data.y" and info.value.message.startswith("the model has 2 outputs (label, score)")

    def test_plain_stacks_keep_their_messages(self):
        raw = {"model": {"input_shape": [3], "layers": [{"Dense": {"units": 4, "activation": "softmax"}}]}}
        with pytest.raises(ModelError) as info:
            self.check(np.zeros((8, 3), "float32"), np.zeros(8, int), copy.deepcopy(raw), num_classes=2)
        assert (info.value.key, info.value.message) == (
            "model.layers[0].Dense.units", "the last layer outputs 4 values but the data has 2 classes (set its units to 2)"
        )
