"""engine.diagnose: a failed fit's cause in a line, and what to change, on messages from real tiny models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import events as ev
from engine.diagnose import explain
from engine.errors import ModelError
from engine.model import compile_model
from engine.runs import read_status
from engine.session import Prepared, prepare, train

UNEVEN = 70
"""Samples that leave a partial last batch: the batch size is unknown when Keras traces the step, so a shape
clash surfaces at run time as TensorFlow's "Graph execution error" (what ``kwb train`` meets)."""
EVEN = 64
"""Samples that fill every batch: the clash is found while tracing, as a Keras/TensorFlow ValueError."""


def fit_error(units: int, loss: str, labels: str, *, classes: int = 3, metrics: tuple[str, ...] = (),
              samples: int = UNEVEN, activation: str = "softmax") -> tuple[BaseException, Any]:  # fmt: skip
    """Train a tiny real model one epoch and return what ``fit`` raised, with the model."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, 2)).astype("float32")
    y = rng.integers(0, classes, size=samples)
    if labels == "one-hot":
        y = np.eye(classes, dtype="float32")[y]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(units, activation=activation)])  # fmt: skip
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    with pytest.raises(Exception) as caught:
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return caught.value, model


class TestCause:
    """The cause is one line, without TensorFlow's node and stack dump or Keras' call arguments."""

    def test_graph_execution_error_keeps_the_cause_line(self):
        exc, model = fit_error(3, "sparse_categorical_crossentropy", "indices", metrics=("accuracy", "auc"))
        assert "Graph execution error" in str(exc) and 'File "' in str(exc)  # what the user used to see
        cause = explain(exc, model).cause
        assert cause == "InvalidArgumentError: data.shape = [32] does not start with segment_ids.shape = [96]"

    def test_a_layer_call_error_keeps_the_layer_s_complaint(self):
        import keras

        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax", name="out")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        with pytest.raises(ValueError) as caught:
            model.fit(np.zeros((UNEVEN, 5)), np.zeros(UNEVEN), epochs=1, verbose=0)
        assert "Arguments received by" in str(caught.value)
        assert explain(caught.value, model) == (
            "ValueError: Input 0 with name 'None' of layer 'out' is incompatible with the layer: expected axis -1 "
            "of input shape to have value 2, but received input with shape (None, 5)",
            None,
        )

    def test_an_unknown_error_is_its_type_and_message(self):
        assert explain(RuntimeError("boom")) == ("RuntimeError: boom", None)
        assert explain(RuntimeError("boom")).text == "RuntimeError: boom"

    def test_a_huge_message_is_cut(self):
        cause = explain(ValueError("x" * 5000)).cause
        assert len(cause) == 300 and cause.endswith("…")


class TestHints:
    """Known mismatches between labels, model output, loss and metrics say what to change."""

    @pytest.mark.parametrize("samples", [UNEVEN, EVEN])
    @pytest.mark.parametrize("metric", ["auc", "precision"])
    def test_a_metric_that_does_not_fit_class_index_labels(self, metric: str, samples: int):
        exc, model = fit_error(3, "sparse_categorical_crossentropy", "indices", metrics=("accuracy", metric),
                               samples=samples)  # fmt: skip
        assert explain(exc, model).hint == (
            f"{metric} compares the labels with each of the model's 3 outputs, but the labels are class indices "
            "(one per sample): remove it from compile.metrics, or use one-hot labels (data.one_hot: true with loss "
            "categorical_crossentropy)"
        )

    def test_the_hinted_fix_for_a_metric_trains(self):
        import keras

        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "auc"])
        y = np.eye(3)[np.random.default_rng(0).integers(0, 3, UNEVEN)]
        history = model.fit(np.zeros((UNEVEN, 2)), y, epochs=1, batch_size=32, verbose=0)
        assert "auc" in history.history

    def test_fewer_outputs_than_classes(self):
        exc, model = fit_error(2, "sparse_categorical_crossentropy", "indices")
        assert explain(exc, model) == (
            "InvalidArgumentError: Received a label value of 2 which is outside the valid range of [0, 2).",
            "the labels go up to 2 but the last layer outputs 2 values: give the last layer one unit per class "
            "(at least 3)",
        )

    def test_class_indices_with_categorical_crossentropy(self):
        exc, model = fit_error(3, "categorical_crossentropy", "indices")
        assert explain(exc, model) == (
            "ValueError: Arguments `target` and `output` must have the same rank (ndim). "
            "Received: target.shape=(None,), output.shape=(None, 3)",
            "categorical_crossentropy takes one-hot labels, but these are class indices (one per sample): "
            "use loss sparse_categorical_crossentropy, or set data.one_hot: true",
        )

    def test_one_hot_labels_with_sparse_categorical_crossentropy(self):
        exc, model = fit_error(3, "sparse_categorical_crossentropy", "one-hot")
        assert explain(exc, model).hint == (
            "sparse_categorical_crossentropy takes class indices, but these labels are one-hot (a column per class): "
            "use loss categorical_crossentropy, or set data.one_hot: false"
        )

    def test_one_hot_labels_wider_than_the_output(self):
        exc, model = fit_error(2, "categorical_crossentropy", "one-hot")
        assert explain(exc, model).hint == "the labels have 3 columns but the last layer outputs 2: set its units to 3"

    def test_binary_crossentropy_on_a_softmax(self):
        exc, model = fit_error(2, "binary_crossentropy", "indices", classes=2)
        assert explain(exc, model).hint == (
            "binary_crossentropy takes one label per output, but the last layer outputs 2 values: for two classes "
            "use a 1-unit sigmoid last layer; for more, loss sparse_categorical_crossentropy"
        )

    @pytest.mark.parametrize("loss", ["mse", "categorical_hinge"])
    def test_a_loss_that_does_not_fit_the_output(self, loss: str):
        exc, model = fit_error(3, loss, "indices")
        assert explain(exc, model) == (
            "InvalidArgumentError: Incompatible shapes: [32] vs. [32,3]",
            f"{loss} compares each label with the model's output, and these differ in shape (the model outputs "
            "3 values per sample): for class labels use loss sparse_categorical_crossentropy; for regression give "
            "the last layer one unit per target",
        )


class TestRunFailure:
    """A run that fails this way reports the cause and hint, not the stack dump, and keeps the traceback."""

    def test_auc_on_a_two_class_softmax(self, tiny_config, tmp_path: Path):
        cfg = tiny_config("compile.metrics=[accuracy, auc]")  # the example
        events: list[ev.Event] = []

        class Sink:
            def emit(self, event: ev.Event) -> None:
                events.append(event)

        hint = ("auc compares the labels with each of the model's 2 outputs, but the labels are class indices "
                "(one per sample): remove it from compile.metrics, or use one-hot labels (data.one_hot: true with "
                "loss categorical_crossentropy)")  # fmt: skip
        # prepare runs one batch first and refuses it with the same hint (engine.batch_probe) ...
        with pytest.raises(ModelError) as refused:
            prepare(cfg)
        assert (refused.value.key, refused.value.message) == ("compile.metrics[1]", hint)
        # ... and a fit that fails this way anyway (the probe skipped) reports the cause and the same hint.
        good = prepare(tiny_config())
        compile_model(good.model, cfg)
        prepared = Prepared(cfg, good.data, good.model, good.strategy, good.device)
        result = train(cfg, sink=Sink(), runs_dir=tmp_path / "runs", capture_output=False, prepared=prepared)
        cause = "InvalidArgumentError: data.shape = [32] does not start with segment_ids.shape = [64]"
        assert result.status == "failed" and result.error == f"{cause}\n{hint}"
        assert read_status(result.run_dir)["error"] == result.error
        (error,) = [e for e in events if isinstance(e, ev.Error)]
        assert error.fatal and error.message.splitlines() == [cause, hint, f"full traceback: {result.run_dir}/error.txt"]
        full = (result.run_dir / "error.txt").read_text()
        assert full.startswith("Traceback (most recent call last):") and "Graph execution error" in full
        assert error.traceback is not None and "Graph execution error" in error.traceback
