"""``kwb runs``, ``show``, ``evaluate``, ``predict``, ``inspect`` and ``control`` on a finished run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.runs import read_status

ROOT = Path(__file__).resolve().parents[2]
SIGNALS_H5 = ROOT / "sample_configs" / "data" / "signals.h5"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny spirals run (trained in-process), in its own runs folder."""
    from engine.config_io import load_config
    from engine.session import train

    cfg = load_config(
        ROOT / "sample_configs" / "spirals.yaml",
        ["data.samples=300", "fit.epochs=3", "callbacks.early_stopping=null", "callbacks.reduce_lr_on_plateau=null"],
    )
    result = train(cfg, runs_dir=tmp_path_factory.mktemp("runs"), capture_output=False)
    assert result.status == "finished", result.error
    return result.run_dir


@pytest.fixture
def inputs(tmp_path: Path) -> np.ndarray:
    x = np.array([[0.1, 0.2], [-0.5, 0.3], [0.9, -0.9], [0.0, 0.0], [0.4, 0.4]], dtype="float32")
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    return x


def expected_predictions(finished: Path, x: np.ndarray) -> np.ndarray:
    import keras

    return keras.models.load_model(finished / "model.keras").predict(x, verbose=0)


class TestRuns:
    """kwb runs lists runs."""

    def test_runs_lists_the_run(self, kwb, finished: Path):
        result = kwb("runs", "--runs-dir", finished.parent)
        assert result.code == 0, result
        header, row = result.out.splitlines()
        assert header.split() == ["RUN", "STATE", "EPOCHS", "TIME", "BEST"]
        assert row.split()[:3] == [finished.name, "finished", "3/3"]
        assert "val_accuracy" in row and "val_loss" in row

    def test_runs_in_an_empty_folder(self, kwb, tmp_path: Path):
        result = kwb("runs")
        assert (result.code, result.out) == (0, "no runs in runs/\n")


class TestShow:
    """kwb show prints one run's summary and history, found by id, part of it or path."""

    def test_show_prints_summary_and_history(self, kwb, finished: Path):
        result = kwb("show", finished.name, "--runs-dir", finished.parent)
        assert result.code == 0, result
        lines = result.out.splitlines()
        assert lines[0] == f"run      {finished.name}"
        assert "state    finished" in lines and lines[3].startswith("epochs   3/3")
        assert any(line.startswith("best     ") for line in lines)
        assert any(line.startswith("final    test_") for line in lines)
        table = lines[lines.index("") + 1 :]
        assert table[0].split()[:1] == ["epoch"] and {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(table[0].split())
        assert [row.split()[0] for row in table[1:]] == ["1", "2", "3"]

    def test_show_by_a_unique_part_of_the_id_and_by_path(self, kwb, finished: Path):
        assert kwb("show", "spirals", "--runs-dir", finished.parent).code == 0
        assert kwb("show", finished).code == 0

    def test_show_unknown_run_exits_2(self, kwb, tmp_path: Path):
        result = kwb("show", "nope")
        assert result.code == 2
        assert result.err.strip().splitlines() == ["error:", "  RUN: no run 'nope' (looked for a run directory path and under runs/)"]


class TestEvaluate:
    """kwb evaluate reproduces the run's evaluation and names a bad split."""

    def test_evaluate_matches_the_run_evaluation(self, kwb, finished: Path):
        result = kwb("evaluate", finished.name, "--runs-dir", finished.parent)
        assert result.code == 0, result
        lines = result.out.splitlines()
        assert lines[0] == f"{finished / 'model.keras'} on test (30 samples)"
        scores = {line.split()[0]: float(line.split()[1]) for line in lines[1:]}
        evaluation = read_status(finished)["evaluation"]
        assert set(scores) == {"test_loss", "test_accuracy"}
        for key, value in scores.items():
            assert value == pytest.approx(evaluation[key], abs=2e-6)

    def test_evaluate_other_splits_and_bad_split(self, kwb, finished: Path):
        val = kwb("evaluate", finished.name, "--split", "val", "--runs-dir", finished.parent)
        assert val.code == 0 and "on val (60 samples)" in val.out and "val_accuracy" in val.out
        bad = kwb("evaluate", finished.name, "--split", "holdout", "--runs-dir", finished.parent)
        assert bad.code == 2 and "'holdout' is not one of 'test', 'val', 'train', 'all'" in " ".join(bad.err.split())


class TestPredict:
    """kwb predict prints or writes one prediction per sample; bad inputs exit 2."""

    @pytest.mark.parametrize("name", ["x.npy", "x.csv"])
    def test_predict_prints_one_line_per_sample(self, kwb, finished: Path, inputs: np.ndarray, name: str):
        result = kwb("predict", finished.name, name, "--runs-dir", finished.parent)
        assert result.code == 0, result
        probs = expected_predictions(finished, inputs)
        lines = result.out.splitlines()
        assert len(lines) == 5
        for i, (line, p) in enumerate(zip(lines, probs)):
            k = int(np.argmax(p))
            assert line == f"{i}\tclass {k}\tp={float(p[k]):.4f}"

    def test_predict_writes_an_output_file(self, kwb, finished: Path, inputs: np.ndarray, tmp_path: Path):
        result = kwb("predict", finished.name, "x.npy", "-o", "preds.npy", "--runs-dir", finished.parent)
        assert result.code == 0 and result.out == "wrote 5 predictions to preds.npy\n", result
        np.testing.assert_allclose(np.load(tmp_path / "preds.npy"), expected_predictions(finished, inputs), rtol=1e-5)
        result = kwb("predict", finished.name, "x.csv", "-o", "preds.csv", "--runs-dir", finished.parent)
        assert result.code == 0
        np.testing.assert_allclose(np.loadtxt(tmp_path / "preds.csv", delimiter=","), expected_predictions(finished, inputs), rtol=1e-5)

    def test_predict_bad_inputs_exit_2(self, kwb, finished: Path, tmp_path: Path):
        np.save(tmp_path / "wide.npy", np.zeros((4, 3), dtype="float32"))
        result = kwb("predict", finished.name, "wide.npy", "--runs-dir", finished.parent)
        assert result.code == 2
        assert result.err.strip().splitlines() == ["error in wide.npy:", "  samples have shape (3,), the model expects (2,)"]
        missing = kwb("predict", finished.name, "nothing.npy", "--runs-dir", finished.parent)
        assert missing.code == 2 and missing.err.strip().splitlines() == ["error in nothing.npy:", "  file not found"]
        (tmp_path / "x.txt").write_text("1,a\n")
        unreadable = kwb("predict", finished.name, "x.txt", "--runs-dir", finished.parent)
        assert unreadable.code == 2 and unreadable.err.strip().splitlines() == [
            "error in x.txt:", "  expected a .npy, .npz or .csv file, got '.txt'"]

    def test_predict_reshapes_flat_rows_for_a_multi_dimensional_model(self, kwb, tmp_path: Path):
        """A CSV row of 6 numbers is one (2, 3) sample; rows are never merged or split."""
        import keras

        from engine.config_io import parse_config
        from engine.runs import create_run_dir

        run = create_run_dir(parse_config({"name": "grid", "model": {"layers": [{"Dense": {"units": 2}}]}}), tmp_path / "runs")
        inputs = keras.Input((2, 3))
        model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(inputs)))
        model.save(run.model)
        x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
        np.savetxt(tmp_path / "flat.csv", x, delimiter=",")
        result = kwb("predict", run.id, "flat.csv", "-o", "p.npy")
        assert result.code == 0, result
        np.testing.assert_allclose(np.load(tmp_path / "p.npy"), model.predict(x.reshape(3, 2, 3), verbose=0), rtol=1e-5)
        np.save(tmp_path / "odd.npy", np.zeros((4, 3), "float32"))  # 12 numbers: not 2 samples of (2, 3)
        assert kwb("predict", run.id, "odd.npy").code == 2


class TestInspect:
    """kwb inspect describes .keras/.h5 models and HDF5/npz data; bad files exit 2."""

    def test_inspect_a_keras_model(self, kwb, finished: Path):
        result = kwb("inspect", finished / "model.keras")
        assert result.code == 0, result
        lines = result.out.splitlines()
        assert lines[0] == f"{finished / 'model.keras'}: model 'spirals-mlp', input (None, 2)"
        assert lines[1].split() == ["LAYER", "TYPE", "OUTPUT", "SHAPE", "PARAMS", "CONNECTED", "TO"]
        rows = [line.split() for line in lines[2:-1]]
        assert [r[1] for r in rows] == ["Dense"] * 4
        assert [r[4] for r in rows] == ["192", "4,160", "4,160", "130"]
        assert [r[5] for r in rows] == ["input"] + [r[0] for r in rows[:-1]]  # a stack: each layer takes the one above
        assert lines[-1].strip() == "total 8,642 parameters (8,642 trainable)"

    def test_inspect_a_legacy_h5_model(self, kwb, tmp_path: Path):
        import keras

        inputs = keras.Input((3,))
        keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs), name="legacy").save(tmp_path / "legacy.h5")
        result = kwb("inspect", "legacy.h5")
        assert result.code == 0, result
        assert result.out.splitlines()[0] == "legacy.h5: model 'legacy', input (None, 3)"
        assert "total 8 parameters (8 trainable)" in result.out

    def test_inspect_an_hdf5_data_file_shows_its_tree(self, kwb):
        import h5py

        result = kwb("inspect", SIGNALS_H5)
        assert result.code == 0, result
        expected = []
        with h5py.File(SIGNALS_H5, "r") as f:
            f.visititems(lambda name, obj: expected.append((name, isinstance(obj, h5py.Group), getattr(obj, "shape", None))))
        lines = result.out.splitlines()
        assert len(lines) == len(expected)
        for line, (name, group, shape) in zip(lines, expected):
            if group:
                assert line == f"{name}/"
            else:
                assert line.split()[0] == name and str(tuple(shape)) in line
        assert "train/" in lines and any(line.startswith("train/x ") for line in lines)

    def test_inspect_an_npz_file(self, kwb, tmp_path: Path):
        np.savez(tmp_path / "d.npz", x=np.zeros((4, 2), "float32"), y=np.arange(4))
        result = kwb("inspect", "d.npz")
        assert result.code == 0
        assert [line.split()[0] for line in result.out.splitlines()] == ["x", "y"]

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("missing.h5", None, "file not found"),
            ("notes.txt", "hello", "expected a .keras, .h5, .hdf5 or .npz file"),
            ("fake.h5", "not hdf5", "not an HDF5 file: "),
        ],
    )
    def test_inspect_bad_files_exit_2(self, kwb, tmp_path: Path, name: str, content: str | None, message: str):
        if content is not None:
            (tmp_path / name).write_text(content)
        result = kwb("inspect", name)
        assert result.code == 2, result
        lines = result.err.strip().splitlines()
        assert lines[0] == f"error in {name}:" and lines[1].startswith(f"  {message}")


class TestControlVerb:
    """kwb control refuses an ended run and names a bad command."""

    def test_control_on_a_finished_run_is_refused(self, kwb, finished: Path):
        result = kwb("control", finished.name, "pause", "--runs-dir", finished.parent)
        assert result.code == 1
        assert result.err.strip() == f"kwb control: run {finished.name} finished; nothing to control"

    def test_control_with_a_bad_command_exits_2(self, kwb, finished: Path):
        result = kwb("control", finished.name, "puase", "--runs-dir", finished.parent)
        assert result.code == 2
        assert result.err.strip().splitlines() == [
            "error:",
            "  COMMAND: unknown command 'puase' (did you mean 'pause'?); expected one of stop, pause, resume, checkpoint, lr-drop, set-lr",
        ]
