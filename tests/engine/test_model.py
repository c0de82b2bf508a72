"""engine.layers + engine.model: every catalogue entry really builds, compiles and fits with Keras; clear model errors."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from engine import layers as catalogue
from engine.config import RunConfig
from engine.config_io import parse_config
from engine.errors import ConfigError, ModelError
from engine.model import build_model, compile_model, load_model_file, summarize, summary_of
from engine.session import expected_metric_names

ROOT = Path(__file__).resolve().parents[2]

# What the issue promises the builder offers (the catalogue may offer more).
PROMISED_LAYERS = (
    "Dense", "Dropout", "BatchNormalization", "Flatten", "Reshape", "Conv1D", "Conv2D", "MaxPooling1D",
    "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Embedding", "SimpleRNN", "LSTM", "GRU",
    "Activation", "LeakyReLU", "PReLU", "ELU", "ReLU",
)  # fmt: skip

PROMISED_ACTIVATIONS = (
    "elu", "softmax", "selu", "softplus", "softsign", "relu", "tanh", "sigmoid", "hard_sigmoid", "exponential",
    "linear", "gelu", "swish",
)  # fmt: skip

PROMISED_OPTIMIZERS = ("sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam", "adamw")

PROMISED_LOSS_ALIASES = ("logcosh", "kullback_leibler_divergence", "cosine_proximity")

PROMISED_METRICS = (
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mae", "mse", "auc", "precision", "recall",
)  # fmt: skip

# One case per catalogue layer: (input shape of one sample, kwargs, expected output shape without the batch).
LAYER_CASES: dict[str, tuple[tuple[int, ...], dict[str, Any], tuple[int | None, ...]]] = {
    "Dense": ((3,), {"units": 4, "activation": "relu", "kernel_regularizer": {"l2": 0.01}}, (4,)),
    "Dropout": ((3,), {"rate": 0.5}, (3,)),
    "BatchNormalization": ((3,), {"momentum": 0.9}, (3,)),
    "LayerNormalization": ((3,), {}, (3,)),
    "Flatten": ((2, 3), {}, (6,)),
    "Reshape": ((6,), {"target_shape": [3, 2]}, (3, 2)),
    "Conv1D": ((8, 2), {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}, (8, 4)),
    "Conv2D": ((6, 6, 1), {"filters": 2, "kernel_size": [3, 3], "strides": 1}, (4, 4, 2)),
    "MaxPooling1D": ((8, 2), {"pool_size": 2}, (4, 2)),
    "MaxPooling2D": ((6, 6, 1), {"pool_size": [2, 2]}, (3, 3, 1)),
    "AveragePooling1D": ((8, 2), {"pool_size": 4}, (2, 2)),
    "AveragePooling2D": ((6, 6, 1), {"pool_size": 2, "padding": "same"}, (3, 3, 1)),
    "GlobalAveragePooling1D": ((8, 2), {}, (2,)),
    "GlobalAveragePooling2D": ((6, 6, 2), {}, (2,)),
    "GlobalMaxPooling2D": ((6, 6, 2), {}, (2,)),
    "Embedding": ((5,), {"input_dim": 10, "output_dim": 4}, (5, 4)),
    "SimpleRNN": ((5, 2), {"units": 3}, (3,)),
    "LSTM": ((5, 2), {"units": 3, "return_sequences": True}, (5, 3)),
    "GRU": ((5, 2), {"units": 3, "dropout": 0.1}, (3,)),
    "Activation": ((3,), {"activation": "tanh"}, (3,)),
    "LeakyReLU": ((3,), {"negative_slope": 0.1}, (3,)),
    "PReLU": ((3,), {}, (3,)),
    "ELU": ((3,), {"alpha": 0.5}, (3,)),
    "ReLU": ((3,), {"threshold": 0.5, "max_value": 6.0}, (3,)),
    "Softmax": ((3,), {"axis": -1}, (3,)),
    "GaussianNoise": ((3,), {"stddev": 0.1}, (3,)),
    "SpatialDropout1D": ((8, 2), {"rate": 0.2}, (8, 2)),
    "SpatialDropout2D": ((6, 6, 2), {"rate": 0.2}, (6, 6, 2)),
    "Rescaling": ((3,), {"scale": 0.5, "offset": 1.0}, (3,)),
}


def config(layers: list[dict[str, Any]], input_shape: list[int] | None = None, **sections: Any) -> RunConfig:
    model: dict[str, Any] = {"layers": layers}
    if input_shape is not None:
        model["input_shape"] = input_shape
    return parse_config({"model": model, **sections})


def sample_input(shape: tuple[int, ...], name: str, n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    if name == "Embedding":
        return rng.integers(0, 10, size=(n, *shape)).astype("int32")
    return rng.normal(size=(n, *shape)).astype("float32")


class TestCatalogue:
    """The catalogue offers what was promised, without duplicates, with real Keras arguments."""

    def test_catalogue_covers_what_the_issue_promises(self):
        assert set(PROMISED_LAYERS) <= set(catalogue.LAYERS)
        assert set(PROMISED_ACTIVATIONS) <= set(catalogue.ACTIVATIONS)
        assert set(catalogue.REGULARIZERS) == {"l1", "l2", "l1_l2"}
        assert set(PROMISED_OPTIMIZERS) <= set(catalogue.OPTIMIZERS)
        assert set(PROMISED_LOSS_ALIASES) <= set(catalogue.LOSS_ALIASES)
        assert set(PROMISED_METRICS) <= set(catalogue.METRICS)
        assert catalogue.LAYERS["ReLU"].arg("threshold") is not None
        sgd = {a.name for a in catalogue.OPTIMIZERS["sgd"][1]}
        assert {"momentum", "nesterov"} <= sgd
        assert "rho" in {a.name for a in catalogue.OPTIMIZERS["rmsprop"][1]}
        assert "rho" in {a.name for a in catalogue.OPTIMIZERS["adadelta"][1]}
        assert {"beta_1", "beta_2", "amsgrad"} <= {a.name for a in catalogue.OPTIMIZERS["adam"][1]}

    def test_every_catalogue_layer_has_a_test_case(self):
        assert set(LAYER_CASES) == set(catalogue.LAYERS)

    def test_catalogue_lists_have_no_duplicates(self):
        for name in ("ACTIVATIONS", "LOSSES", "METRICS", "REGULARIZERS"):
            values = getattr(catalogue, name)
            assert len(values) == len(set(values)), f"{name} repeats {[v for v in values if values.count(v) > 1]}"

    @pytest.mark.parametrize("name", sorted(catalogue.LAYERS))
    def test_catalogue_arguments_are_real_keras_arguments(self, name: str):
        """Every argument the builder offers exists on the Keras class, and its default is accepted."""
        spec = catalogue.LAYERS[name]
        cls = getattr(keras.layers, name)
        params = inspect.signature(cls.__init__).parameters
        for arg in spec.args:
            assert arg.name in params, f"{name} has no argument {arg.name!r}"
        defaults = {a.name: a.default for a in spec.args if a.default is not None}
        for arg in spec.args:  # a required argument without a default (Reshape.target_shape): use the test case's
            if arg.required and arg.default is None:
                defaults[arg.name] = LAYER_CASES[name][1][arg.name]
        assert catalogue.check_layer(0, {name: defaults}) == []
        converted = {k: tuple(v) if isinstance(v, list) else v for k, v in defaults.items()}
        cls(**converted)


class TestAnyKerasLayer:
    """Beyond the catalogue, Keras itself says which layers exist and what they take (the builder's picker)."""

    def test_keras_layer_names_are_the_layer_classes(self):
        names = catalogue.keras_layer_names()
        assert "GaussianDropout" in names and set(catalogue.LAYERS) <= set(names)
        assert not {"Layer", "Input", "InputLayer", "InputSpec"} & set(names)
        assert all(issubclass(getattr(keras.layers, n), keras.layers.Layer) for n in names)
    # A layer's arguments from its signature and docstring: tests/engine/test_layer_args.py.


class TestLayers:
    """Every catalogue layer, activation and regularizer builds and runs."""

    @pytest.mark.parametrize("name", sorted(LAYER_CASES))
    def test_each_layer_builds_and_runs(self, name: str):
        shape, kwargs, out_shape = LAYER_CASES[name]
        cfg = config([{name: kwargs}], list(shape))
        model = build_model(cfg)
        assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", name]
        assert tuple(model.output_shape[1:]) == out_shape
        x = sample_input(shape, name)
        for training in (False, True):
            y = keras.ops.convert_to_numpy(model(x, training=training))
            assert y.shape == (4, *out_shape) and np.all(np.isfinite(y))
        summary = summarize(cfg)
        assert summary.error is None and len(summary.rows) == 1
        assert summary.rows[0].class_name == name and summary.rows[0].params == model.count_params()

    def test_relu_threshold_replaces_thresholded_relu(self):
        model = build_model(config([{"ReLU": {"threshold": 0.5}}], [3]))
        y = keras.ops.convert_to_numpy(model(np.array([[0.2, 0.7, -1.0]], dtype="float32")))
        np.testing.assert_allclose(y, [[0.0, 0.7, 0.0]], rtol=1e-6)

    @pytest.mark.parametrize("activation", sorted(set(catalogue.ACTIVATIONS)))
    def test_each_activation_builds(self, activation: str):
        model = build_model(config([{"Dense": {"units": 4, "activation": activation}}], [3]))
        y = keras.ops.convert_to_numpy(model(sample_input((3,), "Dense")))
        assert np.all(np.isfinite(y))
        assert y.shape == ((4, 2) if activation == "glu" else (4, 4))  # glu halves the last axis
        assert catalogue.check_layer(0, {"Activation": {"activation": activation}}) == []

    def test_activations_that_need_arguments_are_not_offered(self):
        """``threshold`` needs threshold and default_value: as a bare name it fails inside fit."""
        assert "threshold" not in catalogue.ACTIVATIONS
        issues = catalogue.check_layer(0, {"Dense": {"units": 2, "activation": "threshold"}})
        assert [loc for loc, _ in issues] == ["model.layers[0].Dense.activation"]

    @pytest.mark.parametrize(
        "regularizer",
        [{"l1": 0.01}, {"l2": 0.01}, {"l1_l2": {"l1": 0.01, "l2": 0.02}}, "l2"],
        ids=["l1", "l2", "l1_l2", "l2-by-name"],
    )
    def test_each_regularizer_adds_a_loss_and_trains(self, regularizer: Any):
        cfg = config(
            [{"Dense": {"units": 4, "activation": "relu", "kernel_regularizer": regularizer, "bias_regularizer": regularizer}},
             {"Dense": {"units": 2, "activation": "softmax"}}],
            [3],
        )  # fmt: skip
        model = compile_model(build_model(cfg), cfg)
        x = sample_input((3,), "Dense", n=8)
        y = np.arange(8) % 2
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert len(model.losses) == 2 and all(float(loss) > 0 for loss in model.losses)
        kind = regularizer if isinstance(regularizer, str) else next(iter(regularizer))
        expected = {"l1": keras.regularizers.L1, "l2": keras.regularizers.L2, "l1_l2": keras.regularizers.L1L2}[kind]
        assert isinstance(model.layers[1].kernel_regularizer, expected)


def fit_one_step(cfg: RunConfig, sparse: bool = True) -> tuple[keras.Model, dict[str, list[float]]]:
    model = compile_model(build_model(cfg), cfg)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 4)).astype("float32")
    labels = np.arange(8) % 3
    y = labels if sparse else np.eye(3, dtype="float32")[labels]
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return model, history.history

CLASSIFIER = [{"Dense": {"units": 5, "activation": "relu"}}, {"Dense": {"units": 3, "activation": "softmax"}}]

OPTIMIZER_CASES = {
    "sgd": {"momentum": 0.9, "nesterov": True},
    "rmsprop": {"rho": 0.8, "centered": True},
    "adagrad": {"initial_accumulator_value": 0.2},
    "adadelta": {"rho": 0.9},
    "adam": {"beta_1": 0.8, "beta_2": 0.99, "amsgrad": True},
    "adamax": {"beta_1": 0.85},
    "nadam": {"epsilon": 1e-6},
    "adamw": {"weight_decay": 0.01, "amsgrad": True},
    "ftrl": {},
    "lion": {"beta_1": 0.95},
}


class TestOptimizers:
    """Every catalogue optimizer compiles and steps; names and arguments are checked before Keras."""

    def test_every_catalogue_optimizer_has_a_case(self):
        assert set(OPTIMIZER_CASES) == set(catalogue.OPTIMIZERS)

    @pytest.mark.parametrize("name", sorted(OPTIMIZER_CASES))
    def test_each_optimizer_compiles_and_steps(self, name: str):
        kwargs = OPTIMIZER_CASES[name]
        cfg = config(CLASSIFIER, [4], compile={"optimizer": {"name": name, "learning_rate": 0.01, **kwargs}})
        model, history = fit_one_step(cfg)
        opt = model.optimizer
        assert type(opt).__name__ == catalogue.OPTIMIZERS[name][0]
        assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(0.01)
        for key, value in kwargs.items():
            assert getattr(opt, key) == pytest.approx(value), key
        assert int(opt.iterations) == 1 and np.isfinite(history["loss"][0])

    def test_optimizer_by_bare_name_and_case_insensitive(self):
        cfg = config(CLASSIFIER, [4], compile={"optimizer": "RMSprop"})
        model, _ = fit_one_step(cfg)
        assert type(model.optimizer).__name__ == "RMSprop"

    def test_optimizer_arguments_are_checked_before_keras(self):
        with pytest.raises(ConfigError) as info:
            config(CLASSIFIER, [4], compile={"optimizer": {"name": "sgd", "momentum": -1, "nesterov": "yes"}})
        assert info.value.issues == [
            ("compile.optimizer.momentum", "must be at least 0, got -1"),
            ("compile.optimizer.nesterov", "must be true or false, got 'yes'"),
        ]

SPARSE_LOSSES = {"sparse_categorical_crossentropy"}


class TestLosses:
    """Every catalogue loss compiles and steps, by name or as a mapping with arguments."""

    @pytest.mark.parametrize("loss", sorted(set(catalogue.LOSSES) | set(catalogue.LOSS_ALIASES)))
    def test_each_loss_compiles_and_steps(self, loss: str):
        cfg = config(CLASSIFIER, [4], compile={"loss": loss, "metrics": []})
        _, history = fit_one_step(cfg, sparse=catalogue.canonical_loss(loss) in SPARSE_LOSSES)
        assert np.isfinite(history["loss"][0])

    @pytest.mark.parametrize("loss", sorted(catalogue.LOSSES))
    def test_each_loss_as_a_mapping_builds_the_keras_class(self, loss: str):
        from engine.model import make_loss

        cfg = config(CLASSIFIER, [4], compile={"loss": {"name": loss}})
        obj = make_loss(cfg)
        assert isinstance(obj, keras.losses.Loss)
        assert obj.name == loss or (loss, obj.name) == ("huber", "huber_loss")

    def test_loss_arguments_reach_keras(self):
        from engine.model import make_loss

        cfg = config(CLASSIFIER, [4], compile={"loss": {"name": "huber", "delta": 0.25}})
        huber = make_loss(cfg)
        # |error| = 1 > delta: loss = delta * (|error| - delta / 2)
        value = float(huber(np.array([[1.0]], "float32"), np.array([[0.0]], "float32")))
        assert value == pytest.approx(0.25 * (1 - 0.125))
        cfg = config(CLASSIFIER, [4], compile={"loss": {"name": "categorical_crossentropy", "oops": 1}})
        with pytest.raises(ModelError) as info:
            make_loss(cfg)
        assert info.value.key == "compile.loss"

METRIC_SPARSE = {"accuracy", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"}


class TestMetrics:
    """Every catalogue metric compiles and is logged under a stable name."""

    @pytest.mark.parametrize("metric", sorted(catalogue.METRICS))
    def test_each_metric_compiles_and_is_logged(self, metric: str):
        sparse = metric in METRIC_SPARSE
        loss = "sparse_categorical_crossentropy" if sparse else "categorical_crossentropy"
        cfg = config(CLASSIFIER, [4], compile={"loss": loss, "metrics": [metric]})
        _, history = fit_one_step(cfg, sparse=sparse)
        # The names the session predicts are what fit logs: monitors and charts rely on it.
        assert set(history) == set(expected_metric_names(cfg, has_validation=False))
        assert all(np.isfinite(v[0]) for v in history.values())

    def test_metric_names_stay_the_same_in_a_second_run(self):
        """The app trains many models in one process; the second AUC must still log as ``auc``."""
        cfg = config(CLASSIFIER, [4], compile={"loss": "categorical_crossentropy",
                                               "metrics": ["auc", "precision", {"name": "recall"}]})  # fmt: skip
        for _ in range(2):
            _, history = fit_one_step(cfg, sparse=False)
            assert set(history) == {"loss", "auc", "precision", "recall"} == set(expected_metric_names(cfg, False))

    def test_metric_mappings_pass_arguments(self):
        cfg = config(
            CLASSIFIER, [4],
            compile={"loss": "categorical_crossentropy",
                     "metrics": [{"name": "top_k_categorical_accuracy", "k": 2}, {"name": "auc", "curve": "PR"}]},
        )  # fmt: skip
        model, history = fit_one_step(cfg, sparse=False)
        assert {"top_k_categorical_accuracy", "auc"} <= set(history)
        metric = next(m for m in model.metrics[1].metrics if m.name == "top_k_categorical_accuracy")
        assert metric.get_config()["k"] == 2


class TestSummary:
    """summarize gives one row per layer with shapes and parameter counts."""

    def test_summarize_rows(self):
        from engine.config_io import load_config

        cfg = load_config(ROOT / "sample_configs" / "spirals.yaml")
        s = summarize(cfg)
        assert s.error is None
        assert [(r.index, r.class_name, r.output_shape, r.params) for r in s.rows] == [
            (0, "Dense", "(None, 64)", 2 * 64 + 64),
            (1, "Dense", "(None, 64)", 64 * 64 + 64),
            (2, "Dense", "(None, 64)", 64 * 64 + 64),
            (3, "Dense", "(None, 2)", 64 * 2 + 2),
        ]
        assert s.total_params == s.trainable_params == build_model(cfg).count_params()
        built = summary_of(build_model(cfg))
        assert [(r.class_name, r.output_shape, r.params) for r in built.rows] == [
            (r.class_name, r.output_shape, r.params) for r in s.rows
        ]

    def test_summarize_counts_non_trainable_parameters(self):
        s = summarize(config([{"Dense": {"units": 4}}, {"BatchNormalization": {}}], [3]))
        assert s.total_params == 16 + 16 and s.trainable_params == 16 + 8


class TestModelErrors:
    """A model that cannot be built is a ModelError on the offending row, with a suggestion."""

    def test_shape_error_lands_on_the_offending_row(self):
        from engine.config_io import load_config

        cfg = load_config(ROOT / "sample_configs" / "invalid" / "shape_mismatch.yaml")
        s = summarize(cfg)
        assert [(r.index, r.class_name, r.output_shape) for r in s.rows] == [
            (0, "Dense", "(None, 16)"), (1, "Conv2D", "?"), (2, "Dense", "?"),
        ]  # fmt: skip
        assert s.rows[0].error is None and s.rows[2].error is None
        assert s.rows[1].error is not None and s.rows[1].error.startswith("does not fit its input of shape (None, 16): ")
        assert "ndim=4" in s.rows[1].error
        assert s.error == f"model.layers[1].Conv2D: {s.rows[1].error}"
        with pytest.raises(ModelError) as info:
            build_model(cfg)
        assert info.value.key == "model.layers[1].Conv2D" and info.value.message == s.rows[1].error

    def test_unknown_layer_suggests_the_closest_keras_layer(self):
        cfg = config([{"Dense": {"units": 4}}, {"Dnese": {"units": 2}}], [3])
        with pytest.raises(ModelError) as info:
            build_model(cfg)
        assert (info.value.key, info.value.message) == ("model.layers[1]", "unknown layer 'Dnese' (did you mean 'Dense'?)")
        s = summarize(cfg)
        assert s.rows[1].error == "unknown layer 'Dnese' (did you mean 'Dense'?)"
        assert s.error == "model.layers[1]: unknown layer 'Dnese' (did you mean 'Dense'?)"

    def test_layers_outside_the_catalogue_still_work(self):
        cfg = config([{"UnitNormalization": {}}, {"Dense": {"units": 2}}], [3])
        assert [type(layer).__name__ for layer in build_model(cfg).layers][1:] == ["UnitNormalization", "Dense"]

    def test_unknown_argument_suggests_the_closest_one(self):
        cfg = config([{"Dense": {"units": 4, "activaton": "relu"}}], [3])
        with pytest.raises(ModelError) as info:
            build_model(cfg)
        assert info.value.key == "model.layers[0].Dense.activaton"
        assert info.value.message == "Dense has no argument 'activaton' (did you mean 'activation'?)"
        assert str(info.value) == "error:\n  model.layers[0].Dense.activaton: Dense has no argument 'activaton' (did you mean 'activation'?)"
        cfg = config([{"Conv1D": {"filters": 2, "kernel_size": 3, "stride": 2}}], [8, 1])
        with pytest.raises(ModelError) as info:
            build_model(cfg)
        assert info.value.message == "Conv1D has no argument 'stride' (did you mean 'strides'?)"

    def test_missing_input_shape_is_a_model_error(self):
        with pytest.raises(ModelError) as info:
            build_model(config([{"Dense": {"units": 2}}]))
        assert info.value.key == "model.input_shape"
        assert build_model(config([{"Dense": {"units": 2}}]), input_shape=(5,)).input_shape == (None, 5)


def small_model() -> keras.Model:
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(x), name="saved")


class TestModelFiles:
    """model.path loads .keras and .h5 files (safe mode, relative to the config); bad files are ModelErrors."""

    @pytest.mark.parametrize("suffix", [".keras", ".h5"])
    def test_model_path_loads_keras_and_h5_files(self, tmp_path: Path, suffix: str):
        original = small_model()
        path = tmp_path / f"model{suffix}"
        original.save(path)
        cfg = parse_config({"model": {"path": str(path)}})
        loaded = build_model(cfg)
        assert [layer.name for layer in loaded.layers][1:] == ["hidden", "out"]
        for a, b in zip(original.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b)
        s = summarize(cfg)
        assert s.error is None and [r.name for r in s.rows] == ["hidden", "out"] and s.total_params == 16 + 10
        x = sample_input((3,), "Dense")
        np.testing.assert_allclose(loaded.predict(x, verbose=0), original.predict(x, verbose=0), rtol=1e-6)

    def test_model_path_is_relative_to_the_config(self, tmp_path: Path):
        from engine.config_io import load_config

        small_model().save(tmp_path / "m.keras")
        (tmp_path / "c.yaml").write_text("model: {path: m.keras}\n")
        assert build_model(load_config(tmp_path / "c.yaml")).name == "saved"

    def test_model_files_load_in_safe_mode(self, tmp_path: Path):
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
        path = tmp_path / "lambda.keras"
        model.save(path)
        with pytest.raises(ModelError) as info:
            load_model_file(str(path))
        assert info.value.key == "model.path" and info.value.message.startswith("holds a Lambda layer")
        assert "safe" in info.value.message.lower() and "model.unsafe: true" in info.value.message

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("missing.keras", None, "file not found"),
            ("model.pt", b"x", "expected a .keras or .h5 model file"),
            ("broken.keras", b"not a zip file", "is not a .keras model (a .keras file is a zip archive)"),
        ],
    )
    def test_bad_model_files(self, tmp_path: Path, name: str, content: bytes | None, message: str):
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ModelError) as info:
            load_model_file(str(path))
        assert info.value.message.startswith(message) and info.value.source == str(path) and info.value.key == "model.path"
        s = summarize(parse_config({"model": {"path": str(path)}}))
        assert s.rows == [] and s.error is not None and s.error.startswith(f"model.path: {message}")
        with pytest.raises(ModelError):
            load_model_file(str(tmp_path))
