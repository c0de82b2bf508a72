"""engine.report: the report written at the end of a run matches sklearn on the saved model's predictions; regression, several outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics

from engine.config_io import load_config
from engine.report import build_report, classification_report, read_report, regression_report, write_report
from engine.session import train
from text_csv import homes_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny spirals run with three classes, trained to its end (report.json written by the session)."""
    cfg = load_config(ROOT / "sample_configs" / "spirals.yaml", [
        "data.samples=450", "data.classes=3", "model.layers[3].Dense.units=3", "fit.epochs=2",
        "callbacks.early_stopping=null", "callbacks.reduce_lr_on_plateau=null",
    ])  # fmt: skip
    tmp = tmp_path_factory.mktemp("report")
    result = train(cfg, runs_dir=tmp / "runs", capture_output=False)
    assert result.status == "finished"
    return cfg, Path(result.run_dir)


class TestEndOfRunReport:
    """report.json at the end of a run."""

    def test_matrix_equals_sklearn_on_the_saved_models_predictions(self, finished_run) -> None:
        from engine.eval_data import evaluation_data
        from engine.model import load_model_file

        cfg, run = finished_run
        report = read_report(run)
        assert report is not None and report["split"] == "test"
        out = report["outputs"][0]
        model = load_model_file(str(run / "model.keras"), key="")
        data = evaluation_data(cfg, cfg, model, run)  # the test split, cut as in training
        predicted = np.argmax(model.predict(data.x, verbose=0), axis=-1)
        expected = metrics.confusion_matrix(data.y, predicted, labels=[0, 1, 2])
        assert np.array_equal(np.array(out["matrix"]), expected)
        precision, recall, f1, support = metrics.precision_recall_fscore_support(
            data.y, predicted, labels=[0, 1, 2], zero_division=0)  # fmt: skip
        got = out["per_class"]
        assert [r["support"] for r in got] == support.tolist()
        assert np.allclose([r["precision"] for r in got], precision)
        assert np.allclose([r["recall"] for r in got], recall)
        assert np.allclose([r["f1"] for r in got], f1)
        assert out["accuracy"] == pytest.approx(metrics.accuracy_score(data.y, predicted))

    def test_file_is_json_a_damaged_one_reads_as_none(self, finished_run, tmp_path: Path) -> None:
        _, run = finished_run
        json.loads((run / "report.json").read_text())
        (tmp_path / "report.json").write_text('{"format": 1, "outp')
        assert read_report(tmp_path) is None


class TestReportParts:
    """The report's pieces against sklearn, on arrays."""

    def test_classification_names_and_confused_pairs(self) -> None:
        true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
        pred = np.array([0, 1, 1, 1, 1, 2, 0, 2, 2])
        out = classification_report(true, pred, ["cat", "dog", "owl"], 3)
        assert out["classes"] == ["cat", "dog", "owl"]
        assert out["matrix"] == metrics.confusion_matrix(true, pred).tolist()
        assert out["confused"][0] == {"true": "cat", "predicted": "dog", "count": 2}
        assert out["confused"][1] == {"true": "owl", "predicted": "cat", "count": 1}
        assert out["macro"]["f1"] == pytest.approx(metrics.f1_score(true, pred, average="macro"))
        assert out["weighted"]["recall"] == pytest.approx(metrics.recall_score(true, pred, average="weighted"))

    def test_macro_averages_the_classes_present_as_sklearn_does(self) -> None:
        true, pred = np.zeros(30, dtype=int), np.zeros(30, dtype=int)  # a file of one class, every row right
        out = classification_report(true, pred, ["setosa", "versicolor", "virginica"], 3)
        assert out["macro"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
        assert [r["support"] for r in out["per_class"]] == [30, 0, 0]  # every class still listed
        true, pred = np.array([0, 0, 2, 2]), np.array([0, 2, 2, 2])
        out = classification_report(true, pred, [], 3)
        for key, score in (("precision", metrics.precision_score), ("recall", metrics.recall_score), ("f1", metrics.f1_score)):
            assert out["macro"][key] == pytest.approx(score(true, pred, average="macro")), key

    def test_regression_against_sklearn(self) -> None:
        rng = np.random.default_rng(0)
        y = rng.normal(size=(300, 1))
        p = y + rng.normal(scale=0.3, size=(300, 1))
        out = regression_report(y, p)
        assert out["mae"] == pytest.approx(metrics.mean_absolute_error(y, p))
        assert out["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y, p)))
        assert out["r2"] == pytest.approx(metrics.r2_score(y, p))
        assert sum(out["residuals"]["counts"]) == 300 and len(out["scatter"]["actual"]) == 300

    def test_one_report_per_output_and_written_atomically(self, tmp_path: Path) -> None:
        import keras

        inp = keras.Input((4,))
        h = keras.layers.Dense(8, activation="relu")(inp)
        model = keras.Model(inp, [keras.layers.Dense(3, activation="softmax", name="label")(h),
                                  keras.layers.Dense(1, name="score")(h)])  # fmt: skip
        cfg = load_config(ROOT / "sample_configs" / "two_inputs.yaml", [])
        x = np.random.default_rng(1).normal(size=(40, 4)).astype("float32")
        y = {"label": np.arange(40) % 3, "score": np.linspace(0, 1, 40)}
        report = build_report(model, cfg, x=x, y=y, classes={"label": ["a", "b", "c"]})
        kinds = {o["name"]: o["kind"] for o in report["outputs"]}
        assert kinds == {"label": "classification", "score": "regression"}
        assert report["outputs"][0]["classes"] == ["a", "b", "c"] and sum(map(sum, report["outputs"][0]["matrix"])) == 40
        write_report(tmp_path, report)
        assert read_report(tmp_path) == json.loads(json.dumps(report))
        assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_prediction_batches_are_sized_by_the_input_not_the_training_batch():
    """Batches of 32 made the end-of-run report cost most of a second on MNIST; the input's size decides now."""
    from engine.report import predict_batch_size

    assert predict_batch_size(np.zeros((6000, 28, 28), "float32"), 32) == 1024  # 3 KiB a row: the 1,024 cap
    assert predict_batch_size(np.zeros((10, 224, 224, 3), "float32"), 32) == 32  # 588 KiB a row: 27, so the training batch
    assert predict_batch_size(np.zeros((10, 512, 512, 3), "float32"), 8) == 8
    two = {"a": np.zeros((5, 1024), "float32"), "b": np.zeros((5, 1024), "float32")}  # 8 KiB a row together
    assert predict_batch_size(two, 16) == 1024 and predict_batch_size([two["a"]] * 4, 16) == 1024
    assert predict_batch_size({"a": np.zeros((5, 8192), "float32")}, 16) == 512


def test_a_csv_with_a_text_column_gets_its_report(tmp_path):
    """The text column reaches the model as string tensors; the report predicted on them (it crashed there)."""
    result = train(homes_config(tmp_path), runs_dir=tmp_path / "runs", capture_output=False)
    report = read_report(Path(result.run_dir))
    assert report is not None and report["samples"] == 60
    assert sum(map(sum, report["outputs"][0]["matrix"])) == 60
