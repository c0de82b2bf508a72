"""engine.callbacks.monitor: a metric's direction is asked of the model's compiled metrics; the name is only the fallback."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from engine.callbacks.monitor import best_of, metric_direction


def _regression_metrics() -> list[keras.metrics.Metric]:
    # Names chosen so that guessing by name gets both wrong: "accuracy" sounds high-is-good, "quality" neutral.
    return [keras.metrics.MeanAbsoluteError(name="accuracy_gap"), keras.metrics.R2Score(name="fit_quality")]


@pytest.fixture(scope="module")
def single() -> keras.Model:
    """A regression model trained one epoch, so Keras has built its compiled metrics."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=_regression_metrics())
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    model.fit(x, x[:, :1], batch_size=16, epochs=1, verbose=0)
    return model


@pytest.fixture(scope="module")
def multi() -> keras.Model:
    """A two-output model (``cls`` and ``reg``) trained one epoch with validation."""
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(4)(inputs)
    cls = keras.layers.Dense(2, activation="softmax", name="cls")(hidden)
    reg = keras.layers.Dense(1, name="reg")(hidden)
    model = keras.Model(inputs, [cls, reg])
    model.compile(
        optimizer="sgd",
        loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
        metrics={"cls": ["accuracy"], "reg": _regression_metrics()},
    )
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    history = model.fit(x, {"cls": (x[:, 0] > 0).astype("int32"), "reg": x[:, :1]}, batch_size=16, epochs=1,
                        validation_split=0.25, verbose=0)  # fmt: skip
    assert {"val_cls_accuracy", "reg_accuracy_gap", "val_reg_fit_quality"} <= set(history.history)
    return model


class TestMetricDirection:
    """metric_direction follows each metric's declared direction, as Keras' MonitorCallback does."""

    @pytest.mark.parametrize("name", ["loss", "val_loss"])
    def test_loss_is_minimised(self, name: str):
        assert metric_direction(None, name) == "min"

    @pytest.mark.parametrize(
        ("name", "direction"), [("accuracy_gap", "min"), ("val_accuracy_gap", "min"), ("fit_quality", "max"), ("val_fit_quality", "max")]
    )
    def test_the_model_is_asked_before_the_name(self, single: keras.Model, name: str, direction: str):
        assert metric_direction(single, name) == direction

    @pytest.mark.parametrize(
        ("name", "direction"),
        [("val_cls_accuracy", "max"), ("reg_accuracy_gap", "min"), ("val_reg_fit_quality", "max"), ("cls_loss", "min")],
    )
    def test_multi_output_names_are_recognised(self, multi: keras.Model, name: str, direction: str):
        assert metric_direction(multi, name) == direction

    @pytest.mark.parametrize(
        ("name", "direction"), [("val_precision_at_k", "max"), ("val_auc", "max"), ("val_custom_error", "min")]
    )
    def test_a_metric_the_model_does_not_know_falls_back_to_its_name(self, single: keras.Model, name: str, direction: str):
        assert metric_direction(single, name) == metric_direction(None, name) == direction

    def test_metrics_not_yet_built_fall_back_to_the_name(self):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=_regression_metrics())
        assert metric_direction(model, "fit_quality") == "min"  # nothing built yet: the name is all there is


HISTORY = [
    {"loss": 0.9, "val_accuracy": 0.5, "accuracy_gap": 0.4, "learning_rate": 0.1},
    {"loss": 0.5, "val_accuracy": 0.8, "accuracy_gap": 0.2, "learning_rate": 0.05},
    {"loss": math.nan, "val_accuracy": 0.7, "accuracy_gap": 0.3, "learning_rate": 0.01},
]
"""Three epochs' logs: the loss is best in epoch 2, NaN in epoch 3."""


class TestBestOf:
    """best_of picks each metric's best epoch value in its own direction."""

    def test_by_name_without_a_model(self):
        assert best_of(HISTORY) == {"loss": 0.5, "val_accuracy": 0.8, "accuracy_gap": 0.4}

    def test_the_model_decides_for_the_metrics_it_knows(self, single: keras.Model):
        assert best_of(HISTORY, single) == {"loss": 0.5, "val_accuracy": 0.8, "accuracy_gap": 0.2}

    def test_empty_history(self):
        assert best_of([]) == {}
