"""engine.data.files: npz, csv and in-memory HDF5 sources and their exact error messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import hdf5_tree, load_data
from engine.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
FLOWERS = ROOT / "sample_configs" / "data" / "flowers.csv"
SIGNALS = ROOT / "sample_configs" / "data" / "signals.h5"


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def error_text(exc_info) -> str:
    return str(exc_info.value)


class TestNpz:
    """npz files: keys, target kinds, never unpickling, clear errors."""

    def test_npz_happy_path_and_custom_keys(self, tmp_path):
        np.savez(tmp_path / "a.npz", x_train=np.ones((30, 4), "float64"), y_train=np.arange(30) % 5)
        b = load_data(cfg(source="npz", path=str(tmp_path / "a.npz"), x="x_train", y="y_train"))
        assert b.x_train.shape == (24, 4) and b.x_train.dtype == np.float32 and b.y_train.dtype == np.int32
        assert b.num_classes == 5 and b.description.startswith("npz a.npz: 24 train / 6 val / 0 test")

    def test_npz_float_targets_are_regression_and_one_hot_targets_are_classes(self, tmp_path):
        np.savez(tmp_path / "r.npz", x=np.zeros((10, 2)), y=np.linspace(0, 1, 10))
        assert load_data(cfg(source="npz", path=str(tmp_path / "r.npz"))).task == "regression"
        np.savez(tmp_path / "o.npz", x=np.zeros((10, 2)), y=np.eye(4, dtype="float32")[np.arange(10) % 4])
        b = load_data(cfg(source="npz", path=str(tmp_path / "o.npz")))
        assert (b.task, b.num_classes) == ("classification", 4)

    def test_npz_missing_key_suggests_closest(self, tmp_path):
        path = tmp_path / "k.npz"
        np.savez(path, x_train=np.zeros((3, 2)), y_train=np.zeros(3))
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(path)))
        assert error_text(e) == (
            f"error in {path}:\n  data.x: no array 'x' in this file (did you mean 'x_train'?); it holds: x_train, y_train"
        )

    def test_npz_length_mismatch(self, tmp_path):
        path = tmp_path / "m.npz"
        np.savez(path, x=np.zeros((10, 2)), y=np.zeros(9))
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(path)))
        assert error_text(e) == f"error in {path}:\n  data.y: x has 10 samples but y has 9; they must match"

    def test_npz_never_unpickles(self, tmp_path):
        path = tmp_path / "obj.npz"
        np.savez(path, x=np.array([[1], [1, 2]], dtype=object), y=np.zeros(2))
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(path)))
        assert e.value.key == "data.x"
        assert e.value.message.startswith("array 'x' holds Python objects, which kwb never unpickles")

    def test_npz_corrupt_file(self, tmp_path):
        path = tmp_path / "bad.npz"
        path.write_bytes(b"PK\x03\x04 not really a zip")
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(path)))
        assert e.value.key == "data.path" and e.value.message.startswith("is not a readable .npz file (")


class TestMissingFiles:
    """A missing, folder, empty or unnamed data path is a DataError naming it."""

    def test_missing_file_folder_and_empty_file(self, tmp_path):
        missing = tmp_path / "nope.npz"
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(missing)))
        assert error_text(e) == f"error in {missing}:\n  data.path: file not found"
        with pytest.raises(DataError) as e:
            load_data(cfg(source="csv", path=str(tmp_path)))
        assert error_text(e) == f"error in {tmp_path}:\n  data.path: is a folder, expected CSV text"
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        with pytest.raises(DataError) as e:
            load_data(cfg(source="csv", path=str(empty)))
        assert error_text(e) == f"error in {empty}:\n  data.path: file is empty, expected CSV text"
        blank = tmp_path / "blank.csv"
        blank.write_text("\n  \n")
        with pytest.raises(DataError) as e:
            load_data(cfg(source="csv", path=str(blank)))
        assert error_text(e) == f"error in {blank}:\n  data.path: file is empty, expected CSV text"

    def test_path_required(self):
        with pytest.raises(DataError) as e:
            load_data(cfg(source="hdf5"))
        assert error_text(e) == "error:\n  data.path: is required for source 'hdf5'"


class TestCsv:
    """CSV files: target and feature columns, word labels, malformed files."""

    def test_csv_shipped_flowers(self):
        b = load_data(cfg(source="csv", path=str(FLOWERS)), seed=0)
        assert (b.train_samples, b.val_samples) == (240, 60)
        assert b.x_train.shape == (240, 4) and b.x_train.dtype == np.float32 and b.y_train.dtype == np.int32
        assert b.num_classes == 3 and b.class_names is None
        assert b.description == "csv flowers.csv: 240 train / 60 val / 0 test, 3 classes"
        assert FLOWERS.stat().st_size < 100_000

    def test_csv_target_by_name_index_features_and_no_header(self, tmp_path):
        text = "a;b;label;c\n1;2;0;3\n4;5;1;6\n7;8;1;9\n10;11;0;12\n"
        (tmp_path / "h.csv").write_text(text)
        base = dict(source="csv", path=str(tmp_path / "h.csv"), delimiter=";", shuffle=False, validation_split=0)
        b = load_data(cfg(**base, target="label"))
        np.testing.assert_array_equal(b.x_train, [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]])
        np.testing.assert_array_equal(b.y_train, [0, 1, 1, 0])
        by_index = load_data(cfg(**base, target=2, features=["c", "a"]))
        np.testing.assert_array_equal(by_index.x_train[:, 0], [3, 6, 9, 12])
        (tmp_path / "n.csv").write_text("\n".join(text.splitlines()[1:]) + "\n")
        nh = load_data(cfg(**{**base, "path": str(tmp_path / "n.csv")}, header=False, target=2))
        np.testing.assert_array_equal(nh.y_train, [0, 1, 1, 0])

    def test_csv_word_labels_become_classes_and_floats_regression(self, tmp_path):
        (tmp_path / "w.csv").write_text("x1,x2,kind\n1,2,setosa\n2,3,virginica\n3,4,setosa\n5,5,versicolor\n")
        b = load_data(cfg(source="csv", path=str(tmp_path / "w.csv"), shuffle=False, validation_split=0))
        assert b.class_names == ["setosa", "versicolor", "virginica"]
        np.testing.assert_array_equal(b.y_train, [0, 2, 0, 1])
        (tmp_path / "f.csv").write_text("x,price\n1,2.5\n2,3.5\n3,1.25\n")
        r = load_data(cfg(source="csv", path=str(tmp_path / "f.csv"), validation_split=0))
        assert r.task == "regression" and r.y_train.dtype == np.float32

    def test_csv_text_feature_column_is_a_string_input(self, tmp_path):
        # A text column is no longer refused: it becomes its own string input, by column name
        # (the model turns it into a one-hot lookup; tests/engine/test_preprocessing_in_model.py).
        path = tmp_path / "s.csv"
        path.write_text("height,colour,y\n1.0,2,0\n2.0,red,1\n")
        bundle = load_data(cfg(source="csv", path=str(path)))
        assert sorted(bundle.x_train) == ["colour", "height"]
        colour = np.asarray(bundle.x_train["colour"]).reshape(-1)
        assert sorted(v.decode() if isinstance(v, bytes) else v for v in colour) == ["2", "red"]
        assert np.asarray(bundle.x_train["height"]).dtype.kind == "f"

    def test_csv_text_column_preview_names_each_column(self, tmp_path):
        # The Data screen's preview of such a file: one entry per column, text cells as str.
        from engine.data.summary import preview

        path = tmp_path / "c.csv"
        path.write_text("height,city,y\n" + "".join(f"{i / 10},{'paris' if i % 2 else 'rome'},{i % 2}\n" for i in range(10)))
        p = preview(load_data(cfg(source="csv", path=str(path))))
        assert set(p["inputs"]) == {"height", "city"}
        assert {s["x"]["city"][0] for s in p["samples"]} <= {"paris", "rome"}
        assert p["inputs"]["city"]["range"] is None and p["inputs"]["height"]["range"] is not None

    def test_csv_unknown_target_column_and_ragged_row(self, tmp_path):
        path = tmp_path / "t.csv"
        path.write_text("a,b,species\n1,2,0\n3,4,1\n")
        with pytest.raises(DataError) as e:
            load_data(cfg(source="csv", path=str(path), target="specie"))
        assert error_text(e) == (
            f"error in {path}:\n  data.target: no column 'specie' (did you mean 'species'?); columns: a, b, species"
        )
        path.write_text("a,b,y\n1,2,0\n3,4\n")
        with pytest.raises(DataError) as e:
            load_data(cfg(source="csv", path=str(path)))
        assert error_text(e) == f"error in {path}:\n  data.path: line 3 has 2 fields but the header has 3"

    def test_csv_empty_target_cell(self, tmp_path):
        path = tmp_path / "e.csv"
        path.write_text("a,y\n1,0\n2,\n")
        with pytest.raises(DataError) as e:
            load_data(cfg(source="csv", path=str(path)))
        assert error_text(e) == f"error in {path}:\n  data.target: target column 'y' is empty on line 3"

    def test_binary_file_given_as_csv(self, tmp_path):
        path = tmp_path / "model.csv"
        path.write_bytes(b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00" + bytes(range(256)) * 4)
        with pytest.raises(DataError) as e:
            load_data(cfg(source="csv", path=str(path)))
        assert error_text(e) == f"error in {path}:\n  data.path: is a binary file, expected CSV text"


class TestHdf5InMemory:
    """HDF5 files loaded whole, and hdf5_tree for the Data screen."""

    def test_hdf5_shipped_signals_in_memory_with_test_from_same_file(self):
        b = load_data(cfg(
            source="hdf5", path=str(SIGNALS), x="train/x", y="train/y",
            test={"path": str(SIGNALS), "x": "test/x", "y": "test/y"},
        ), seed=0)
        assert (b.train_samples, b.val_samples, b.test_samples) == (480, 120, 120)
        assert b.x_train.shape == (480, 16) and b.x_train.dtype == np.float32 and b.y_test.dtype == np.int32
        assert b.num_classes == 3 and b.train_ds is None
        assert SIGNALS.stat().st_size < 100_000

    def test_hdf5_tree_lists_groups_and_datasets(self):
        tree = hdf5_tree(str(SIGNALS))
        assert tree == [
            ("test", None, None),
            ("test/x", (120, 16), "float32"),
            ("test/y", (120,), "int32"),
            ("train", None, None),
            ("train/x", (600, 16), "float32"),
            ("train/y", (600,), "int32"),
        ]

    def test_hdf5_tree_of_a_non_hdf5_file(self, tmp_path):
        path = tmp_path / "x.h5"
        path.write_text("hello")
        with pytest.raises(DataError) as e:
            hdf5_tree(str(path))
        assert e.value.source == str(path) and e.value.key is None
        assert str(e.value).startswith(f"error in {path}:\n  is not a readable HDF5 file (")

    def test_hdf5_missing_dataset_lists_what_exists(self):
        with pytest.raises(DataError) as e:
            load_data(cfg(source="hdf5", path=str(SIGNALS), x="train/xs", y="train/y"))
        assert error_text(e) == (
            f"error in {SIGNALS}:\n  data.x: no dataset 'train/xs' in this file (did you mean 'train/x'?); "
            "datasets: test/x, test/y, train/x, train/y"
        )
        with pytest.raises(DataError) as e:
            load_data(cfg(source="hdf5", path=str(SIGNALS), x="train", y="train/y"))
        assert e.value.message == "'train' is a group, not a dataset; datasets inside it: train/x, train/y"
