"""engine.data: every source on tiny data, the preprocessing steps, and the exact user-error messages."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import KERAS_DATASETS, DataBundle, hdf5_tree, keras_cache, keras_datasets, load_data, preview
from engine.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
FLOWERS = ROOT / "sample_configs" / "data" / "flowers.csv"
SIGNALS = ROOT / "sample_configs" / "data" / "signals.h5"


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def error_text(exc_info) -> str:
    return str(exc_info.value)


# ---------------------------------------------------------------- synthetic
@pytest.mark.parametrize("name", ["spirals", "moons", "circles", "xor", "blobs"])
def test_synthetic_classification_sets(name):
    b = load_data(cfg(source="synthetic", name=name, samples=500, validation_split=0.2), seed=3)
    assert isinstance(b, DataBundle)
    assert b.x_train.shape == (400, 2) and b.x_val.shape == (100, 2) and b.x_test.shape == (0, 2)
    assert b.x_train.dtype == np.float32 and b.y_train.dtype == np.int32
    assert b.task == "classification" and b.num_classes == 2 and b.input_shape == (2,)
    assert set(np.unique(np.concatenate([b.y_train, b.y_val]))) == {0, 1}
    assert (b.train_samples, b.val_samples, b.test_samples) == (400, 100, 0)
    assert b.description == f"synthetic {name}: 400 train / 100 val / 0 test, 2 classes"
    again = load_data(cfg(source="synthetic", name=name, samples=500), seed=3)
    np.testing.assert_array_equal(b.x_train, again.x_train)
    np.testing.assert_array_equal(b.y_val, again.y_val)
    other = load_data(cfg(source="synthetic", name=name, samples=500), seed=4)
    assert not np.array_equal(b.x_train, other.x_train)


def test_synthetic_spirals_and_blobs_honour_classes_and_features():
    s = load_data(cfg(source="synthetic", name="spirals", classes=4, samples=402, validation_split=0))
    assert s.num_classes == 4 and np.bincount(s.y_train).tolist() == [101, 101, 100, 100]
    assert np.abs(s.x_train).max() < 1.5  # arms end at radius 1
    b = load_data(cfg(source="synthetic", name="blobs", classes=3, features_count=5, samples=300), seed=0)
    assert b.x_train.shape == (240, 5) and b.num_classes == 3 and b.input_shape == (5,)


def test_synthetic_noise_zero_and_config_seed_wins():
    quiet = load_data(cfg(source="synthetic", name="circles", noise=0.0, samples=200, seed=7), seed=1)
    radii = np.sort(np.unique(np.round(np.linalg.norm(quiet.x_train, axis=1), 5)))
    np.testing.assert_allclose(radii, [0.5, 1.0], atol=1e-5)
    same = load_data(cfg(source="synthetic", name="circles", noise=0.0, samples=200, seed=7), seed=99)
    np.testing.assert_array_equal(quiet.x_train, same.x_train)


def test_synthetic_sine_is_regression():
    b = load_data(cfg(source="synthetic", name="sine", samples=300, noise=0.0), seed=0)
    assert b.task == "regression" and b.num_classes is None
    assert b.x_train.shape == (240, 1) and b.y_train.shape == (240,)
    assert b.x_train.dtype == np.float32 and b.y_train.dtype == np.float32
    np.testing.assert_allclose(b.y_train, np.sin(b.x_train[:, 0]), atol=1e-5)
    assert b.description == "synthetic sine: 240 train / 60 val / 0 test, regression"


def test_unknown_synthetic_name_suggests_closest():
    with pytest.raises(DataError) as e:
        load_data(cfg(source="synthetic", name="spiral"))
    assert error_text(e) == (
        "error:\n  data.name: unknown synthetic dataset 'spiral' (did you mean 'spirals'?); "
        "choose one of: spirals, moons, circles, xor, blobs, sine"
    )


def test_missing_name():
    with pytest.raises(DataError) as e:
        load_data(cfg(source="keras"))
    assert e.value.key == "data.name"
    assert e.value.message.startswith("is required for source 'keras'; choose one of: mnist, fashion_mnist")


# ---------------------------------------------------------------- splits and preprocessing
def test_splits_are_fractions_of_the_whole_and_limit_keeps_first():
    b = load_data(cfg(source="synthetic", name="moons", samples=1000, validation_split=0.2, test_split=0.1))
    assert (b.train_samples, b.val_samples, b.test_samples) == (700, 200, 100)
    full = load_data(cfg(source="synthetic", name="moons", samples=1000, seed=5))
    cut = load_data(cfg(source="synthetic", name="moons", samples=1000, seed=5, limit=50))
    assert cut.train_samples == 50 and cut.val_samples == 200
    np.testing.assert_array_equal(cut.x_train, full.x_train[:50])
    np.testing.assert_array_equal(cut.x_val, full.x_val)


def test_no_shuffle_keeps_file_order(tmp_path):
    x = np.arange(20, dtype="float32").reshape(10, 2)
    y = np.arange(10) % 2
    np.savez(tmp_path / "d.npz", x=x, y=y)
    b = load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), shuffle=False, validation_split=0.2, test_split=0.1))
    np.testing.assert_array_equal(b.x_train, x[:7])
    np.testing.assert_array_equal(b.x_val, x[7:9])
    np.testing.assert_array_equal(b.x_test, x[9:])


def test_scaling_uses_train_statistics_only():
    mm = load_data(cfg(source="synthetic", name="blobs", samples=400, scale="minmax", test_split=0.2), seed=1)
    assert mm.x_train.min() == pytest.approx(0) and mm.x_train.max() == pytest.approx(1)
    assert mm.x_train.dtype == np.float32 and mm.x_val.dtype == np.float32
    st = load_data(cfg(source="synthetic", name="blobs", samples=400, scale="standard"), seed=1)
    np.testing.assert_allclose(st.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(st.x_train.std(0), 1, atol=1e-4)
    assert abs(st.x_val.mean()) > 1e-6  # validation is not re-centred on itself


def test_standard_scaling_keeps_constant_features(tmp_path):
    x = np.stack([np.full(10, 3.0), np.arange(10.0)], axis=1)
    np.savez(tmp_path / "c.npz", x=x, y=np.zeros(10, "int32"))
    b = load_data(cfg(source="npz", path=str(tmp_path / "c.npz"), scale="standard", validation_split=0))
    np.testing.assert_array_equal(b.x_train[:, 0], 0)
    assert np.isfinite(b.x_train).all()


def test_pixels_and_one_hot(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (20, 4, 4)).astype("uint8")
    y = np.arange(20) % 3
    np.savez(tmp_path / "img.npz", x=x, y=y)
    b = load_data(cfg(source="npz", path=str(tmp_path / "img.npz"), scale="pixels", one_hot=True, shuffle=False))
    assert b.x_train.dtype == np.float32 and b.x_train.max() <= 1.0
    np.testing.assert_allclose(b.x_train, x[:16] / 255.0, rtol=1e-6)
    assert b.y_train.shape == (16, 3) and b.y_train.dtype == np.float32
    np.testing.assert_array_equal(b.y_train.argmax(1), y[:16])
    assert b.num_classes == 3 and b.input_shape == (4, 4)


def test_one_hot_refuses_regression_targets():
    with pytest.raises(DataError) as e:
        load_data(cfg(source="synthetic", name="sine", one_hot=True))
    assert error_text(e) == (
        "error:\n  data.one_hot: needs integer class labels, but the targets are not (regression data?)"
    )


def test_explicit_validation_and_test_files_replace_splits(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", x=rng.normal(size=(50, 3)), y=rng.integers(0, 2, 50))
    np.savez(tmp_path / "val.npz", features=np.ones((7, 3)), labels=np.array([0, 1, 2, 0, 1, 2, 0]))
    np.savez(tmp_path / "test.npz", x=np.zeros((4, 3)), y=np.zeros(4, "int64"))
    b = load_data(cfg(
        source="npz", path=str(tmp_path / "train.npz"), validation_split=0.5, test_split=0.3, scale="minmax",
        validation={"path": str(tmp_path / "val.npz"), "x": "features", "y": "labels"},
        test={"path": str(tmp_path / "test.npz")},
    ))
    assert (b.train_samples, b.val_samples, b.test_samples) == (50, 7, 4)
    assert b.num_classes == 3  # the validation file has a class the training data lacks
    assert b.x_train.dtype == np.float32


def test_synthetic_with_explicit_file_takes_kind_from_suffix(tmp_path):
    np.savez(tmp_path / "v.npz", x=np.zeros((5, 2)), y=np.zeros(5, "int32"))
    b = load_data(cfg(source="synthetic", name="xor", samples=100, validation={"path": str(tmp_path / "v.npz")}))
    assert (b.train_samples, b.val_samples) == (100, 5)
    with pytest.raises(DataError) as e:
        load_data(cfg(source="synthetic", name="xor", validation={"path": str(tmp_path / "v.parquet")}))
    assert e.value.key == "data.validation.path"
    assert "use a .npz, .csv, .h5 or .hdf5 file" in e.value.message


# ---------------------------------------------------------------- npz
def test_npz_happy_path_and_custom_keys(tmp_path):
    np.savez(tmp_path / "a.npz", x_train=np.ones((30, 4), "float64"), y_train=np.arange(30) % 5)
    b = load_data(cfg(source="npz", path=str(tmp_path / "a.npz"), x="x_train", y="y_train"))
    assert b.x_train.shape == (24, 4) and b.x_train.dtype == np.float32 and b.y_train.dtype == np.int32
    assert b.num_classes == 5 and b.description.startswith("npz a.npz: 24 train / 6 val / 0 test")


def test_npz_float_targets_are_regression_and_one_hot_targets_are_classes(tmp_path):
    np.savez(tmp_path / "r.npz", x=np.zeros((10, 2)), y=np.linspace(0, 1, 10))
    assert load_data(cfg(source="npz", path=str(tmp_path / "r.npz"))).task == "regression"
    np.savez(tmp_path / "o.npz", x=np.zeros((10, 2)), y=np.eye(4, dtype="float32")[np.arange(10) % 4])
    b = load_data(cfg(source="npz", path=str(tmp_path / "o.npz")))
    assert (b.task, b.num_classes) == ("classification", 4)


def test_npz_missing_key_suggests_closest(tmp_path):
    path = tmp_path / "k.npz"
    np.savez(path, x_train=np.zeros((3, 2)), y_train=np.zeros(3))
    with pytest.raises(DataError) as e:
        load_data(cfg(source="npz", path=str(path)))
    assert error_text(e) == (
        f"error in {path}:\n  data.x: no array 'x' in this file (did you mean 'x_train'?); it holds: x_train, y_train"
    )


def test_npz_length_mismatch(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, x=np.zeros((10, 2)), y=np.zeros(9))
    with pytest.raises(DataError) as e:
        load_data(cfg(source="npz", path=str(path)))
    assert error_text(e) == f"error in {path}:\n  data.y: x has 10 samples but y has 9; they must match"


def test_npz_never_unpickles(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([[1], [1, 2]], dtype=object), y=np.zeros(2))
    with pytest.raises(DataError) as e:
        load_data(cfg(source="npz", path=str(path)))
    assert e.value.key == "data.x"
    assert e.value.message.startswith("array 'x' holds Python objects, which kwb never unpickles")


def test_npz_corrupt_file(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError) as e:
        load_data(cfg(source="npz", path=str(path)))
    assert e.value.key == "data.path" and e.value.message.startswith("is not a readable .npz file (")


def test_missing_file_folder_and_empty_file(tmp_path):
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


def test_path_required():
    with pytest.raises(DataError) as e:
        load_data(cfg(source="hdf5"))
    assert error_text(e) == "error:\n  data.path: is required for source 'hdf5'"


# ---------------------------------------------------------------- csv
def test_csv_shipped_flowers():
    b = load_data(cfg(source="csv", path=str(FLOWERS)), seed=0)
    assert (b.train_samples, b.val_samples) == (240, 60)
    assert b.x_train.shape == (240, 4) and b.x_train.dtype == np.float32 and b.y_train.dtype == np.int32
    assert b.num_classes == 3 and b.class_names is None
    assert b.description == "csv flowers.csv: 240 train / 60 val / 0 test, 3 classes"
    assert FLOWERS.stat().st_size < 100_000


def test_csv_target_by_name_index_features_and_no_header(tmp_path):
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


def test_csv_word_labels_become_classes_and_floats_regression(tmp_path):
    (tmp_path / "w.csv").write_text("x1,x2,kind\n1,2,setosa\n2,3,virginica\n3,4,setosa\n5,5,versicolor\n")
    b = load_data(cfg(source="csv", path=str(tmp_path / "w.csv"), shuffle=False, validation_split=0))
    assert b.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(b.y_train, [0, 2, 0, 1])
    (tmp_path / "f.csv").write_text("x,price\n1,2.5\n2,3.5\n3,1.25\n")
    r = load_data(cfg(source="csv", path=str(tmp_path / "f.csv"), validation_split=0))
    assert r.task == "regression" and r.y_train.dtype == np.float32


def test_csv_non_numeric_feature_column(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("height,colour,y\n1.0,2,0\n2.0,red,1\n")
    with pytest.raises(DataError) as e:
        load_data(cfg(source="csv", path=str(path)))
    assert error_text(e) == f"error in {path}:\n  data.features: column 'colour' is not numeric: line 3 holds 'red'"


def test_csv_unknown_target_column_and_ragged_row(tmp_path):
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


def test_csv_empty_target_cell(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("a,y\n1,0\n2,\n")
    with pytest.raises(DataError) as e:
        load_data(cfg(source="csv", path=str(path)))
    assert error_text(e) == f"error in {path}:\n  data.target: target column 'y' is empty on line 3"


def test_binary_file_given_as_csv(tmp_path):
    path = tmp_path / "model.csv"
    path.write_bytes(b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00" + bytes(range(256)) * 4)
    with pytest.raises(DataError) as e:
        load_data(cfg(source="csv", path=str(path)))
    assert error_text(e) == f"error in {path}:\n  data.path: is a binary file, expected CSV text"


# ---------------------------------------------------------------- hdf5
def test_hdf5_shipped_signals_in_memory_with_test_from_same_file():
    b = load_data(cfg(
        source="hdf5", path=str(SIGNALS), x="train/x", y="train/y",
        test={"path": str(SIGNALS), "x": "test/x", "y": "test/y"},
    ), seed=0)
    assert (b.train_samples, b.val_samples, b.test_samples) == (480, 120, 120)
    assert b.x_train.shape == (480, 16) and b.x_train.dtype == np.float32 and b.y_test.dtype == np.int32
    assert b.num_classes == 3 and b.train_ds is None
    assert SIGNALS.stat().st_size < 100_000


def test_hdf5_tree_lists_groups_and_datasets():
    tree = hdf5_tree(str(SIGNALS))
    assert tree == [
        ("test", None, None),
        ("test/x", (120, 16), "float32"),
        ("test/y", (120,), "int32"),
        ("train", None, None),
        ("train/x", (600, 16), "float32"),
        ("train/y", (600,), "int32"),
    ]


def test_hdf5_tree_of_a_non_hdf5_file(tmp_path):
    path = tmp_path / "x.h5"
    path.write_text("hello")
    with pytest.raises(DataError) as e:
        hdf5_tree(str(path))
    assert e.value.source == str(path) and e.value.key is None
    assert str(e.value).startswith(f"error in {path}:\n  is not a readable HDF5 file (")


def test_hdf5_missing_dataset_lists_what_exists():
    with pytest.raises(DataError) as e:
        load_data(cfg(source="hdf5", path=str(SIGNALS), x="train/xs", y="train/y"))
    assert error_text(e) == (
        f"error in {SIGNALS}:\n  data.x: no dataset 'train/xs' in this file (did you mean 'train/x'?); "
        "datasets: test/x, test/y, train/x, train/y"
    )
    with pytest.raises(DataError) as e:
        load_data(cfg(source="hdf5", path=str(SIGNALS), x="train", y="train/y"))
    assert e.value.message == "'train' is a group, not a dataset; datasets inside it: train/x, train/y"


def _h5(path, n=103, features=3):
    import h5py

    x = np.arange(n * features, dtype="float32").reshape(n, features)
    y = (np.arange(n) % 4).astype("int64")
    with h5py.File(path, "w") as f:
        f["g/x"] = x
        f["g/y"] = y
    return x, y


def test_hdf5_stream_batches_equal_in_memory_slices(tmp_path):
    import keras

    x, y = _h5(tmp_path / "s.h5")
    c = dict(source="hdf5", path=str(tmp_path / "s.h5"), x="g/x", y="g/y", stream=True, shuffle=False,
             validation_split=0.2, test_split=0.1)
    b = load_data(cfg(**c), batch_size=16)
    assert isinstance(b.train_ds, keras.utils.PyDataset) and isinstance(b.val_ds, keras.utils.PyDataset)
    assert b.x_train is None and b.y_train is None
    assert (b.train_samples, b.val_samples, b.test_samples) == (72, 21, 10)
    assert b.input_shape == (3,) and b.num_classes == 4
    assert b.description == "hdf5 s.h5 (streamed): 72 train / 21 val / 10 test, 4 classes"
    assert len(b.train_ds) == 5
    for i in range(len(b.train_ds)):
        bx, by = b.train_ds[i]
        np.testing.assert_array_equal(bx, x[16 * i : min(16 * i + 16, 72)])
        np.testing.assert_array_equal(by, y[16 * i : min(16 * i + 16, 72)])
        assert by.dtype == np.int32
    clone = pickle.loads(pickle.dumps(b.train_ds))  # worker processes get a copy without the open file
    np.testing.assert_array_equal(clone[1][0], x[16:32])
    b.train_ds.close()  # the file (and its cached dataset handles) reopens on the next read
    np.testing.assert_array_equal(b.train_ds[2][0], x[32:48])
    from engine.data.hdf5_sequence import HDF5Sequence

    assert isinstance(b.train_ds, HDF5Sequence)
    vx, vy = b.val_ds[1]
    np.testing.assert_array_equal(vx, x[72 + 16 : 93])
    np.testing.assert_array_equal(b.test_ds[0][0], x[93:])
    # Without shuffling, the streamed splits match the in-memory ones exactly.
    mem = load_data(cfg(**{**c, "stream": False}))
    np.testing.assert_array_equal(mem.x_train, x[:72])
    np.testing.assert_array_equal(mem.x_val, x[72:93])


def test_hdf5_stream_shuffles_whole_batches_and_scales_from_train(tmp_path):
    x, y = _h5(tmp_path / "s.h5", n=64)
    c = dict(source="hdf5", path=str(tmp_path / "s.h5"), x="g/x", y="g/y", stream=True, validation_split=0.25)
    b = load_data(cfg(**c, seed=1, limit=40), batch_size=8)
    assert b.train_samples == 40 and len(b.train_ds) == 5
    starts = []
    for epoch in range(2):
        seen = []
        for i in range(len(b.train_ds)):
            bx, _ = b.train_ds[i]
            start = int(bx[0, 0]) // 3
            np.testing.assert_array_equal(bx, x[start : start + 8])  # contiguous rows
            seen.append(start)
        assert sorted(seen) == [0, 8, 16, 24, 32]
        starts.append(seen)
        b.train_ds.on_epoch_end()
    assert starts[0] != [0, 8, 16, 24, 32] or starts[1] != [0, 8, 16, 24, 32]

    st = load_data(cfg(**c, shuffle=False, scale="standard", one_hot=True), batch_size=48)
    mem = load_data(cfg(**{**c, "stream": False}, shuffle=False, scale="standard", one_hot=True))
    sx, sy = st.train_ds[0]
    np.testing.assert_allclose(sx, mem.x_train, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(sy, mem.y_train)
    np.testing.assert_allclose(st.val_ds[0][0], mem.x_val, rtol=1e-5, atol=1e-5)
    b.train_ds.close()


def test_hdf5_stream_explicit_validation_file(tmp_path):
    import h5py

    _h5(tmp_path / "s.h5", n=30)
    with h5py.File(tmp_path / "v.h5", "w") as f:
        f["val/x"] = np.ones((6, 3), "float32")
        f["val/y"] = np.array([0, 1, 2, 3, 4, 5])
    b = load_data(cfg(source="hdf5", path=str(tmp_path / "s.h5"), x="g/x", y="g/y", stream=True,
                      validation={"path": str(tmp_path / "v.h5"), "x": "val/x", "y": "val/y"}), batch_size=4)
    assert (b.train_samples, b.val_samples, b.num_classes) == (30, 6, 6)
    np.testing.assert_array_equal(b.val_ds[1][1], [4, 5])
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f["x"] = np.ones((6, 2), "float32")
        f["y"] = np.zeros(6, "int32")
    with pytest.raises(DataError) as e:
        load_data(cfg(source="hdf5", path=str(tmp_path / "s.h5"), x="g/x", y="g/y", stream=True,
                      validation={"path": str(tmp_path / "w.h5"), "x": "x", "y": "y"}))
    assert error_text(e) == (
        f"error in {tmp_path / 'w.h5'}:\n  data.validation.x: samples have shape (2,) but the training data's are (3,)"
    )


def test_hdf5_stream_trains_with_keras(tmp_path):
    import keras

    _h5(tmp_path / "s.h5", n=40)
    b = load_data(cfg(source="hdf5", path=str(tmp_path / "s.h5"), x="g/x", y="g/y", stream=True, scale="minmax"),
                  batch_size=8)
    model = keras.Sequential([keras.Input(b.input_shape), keras.layers.Dense(b.num_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(b.train_ds, validation_data=b.val_ds, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2


def test_hdf5_stream_to_dataset_gives_the_same_batches(tmp_path):
    """What ``fit`` gets (a tf.data pipeline moving several batches per call) holds exactly the sequence's batches."""
    from engine.data import fit_input

    _, y = _h5(tmp_path / "s.h5", n=37)
    c = {"source": "hdf5", "path": str(tmp_path / "s.h5"), "x": "g/x", "y": "g/y", "stream": True,
         "validation_split": 0, "seed": 4}  # fmt: skip
    seq = load_data(cfg(**c, shuffle=False, scale="pixels"), batch_size=8).train_ds  # batches of 8, 8, 8, 8 and 5
    ds = seq.to_dataset(group=2)
    assert len(ds) == len(seq) == 5
    got = [(np.asarray(bx), np.asarray(by)) for bx, by in ds]
    for (bx, by), i in zip(got, range(5), strict=True):
        np.testing.assert_array_equal(bx, seq[i][0])
        np.testing.assert_array_equal(by, y[8 * i : 8 * i + 8])
        assert bx.dtype == np.float32 and by.dtype == np.int32

    shuffled = load_data(cfg(**c), batch_size=8).train_ds
    ds = fit_input(shuffled)
    epochs = [[int(np.asarray(bx)[0, 0]) // 3 for bx, _ in ds] for _ in range(3)]  # first row of each batch
    assert all(sorted(e) == [0, 8, 16, 24, 32] for e in epochs)  # every batch once, each one contiguous read
    assert len({tuple(e) for e in epochs}) > 1  # a new order each epoch
    again = load_data(cfg(**c), batch_size=8).train_ds
    assert [int(np.asarray(bx)[0, 0]) // 3 for bx, _ in fit_input(again)] == epochs[0]  # seeded
    ordered = [int(np.asarray(bx)[0, 0]) // 3 for bx, _ in fit_input(shuffled, shuffle=False)]
    assert ordered == [0, 8, 16, 24, 32]  # fit.shuffle: false keeps file order

    arrays = load_data(cfg(**{**c, "stream": False}))
    assert fit_input(arrays.train_ds) is None and fit_input(seq, prefetch=False) is not seq


def test_hdf5_stream_length_mismatch(tmp_path):
    import h5py

    path = tmp_path / "mm.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros((5, 2))
        f["y"] = np.zeros(4)
    for stream in (True, False):
        with pytest.raises(DataError) as e:
            load_data(cfg(source="hdf5", path=str(path), stream=stream))
        assert error_text(e) == f"error in {path}:\n  data.y: x has 5 samples but y has 4; they must match"


# ---------------------------------------------------------------- directory of images
def _image_folder(root: Path, per_class: dict[str, int], size=(6, 5)) -> None:
    import tensorflow as tf  # tf.io writes PNGs without PIL

    rng = np.random.default_rng(0)
    for name, count in per_class.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            img = rng.integers(0, 256, (*size, 3)).astype("uint8")
            (root / name / f"{i}.png").write_bytes(tf.io.encode_png(img).numpy())


def test_directory_source(tmp_path):
    _image_folder(tmp_path / "imgs", {"cat": 6, "dog": 4})
    b = load_data(cfg(source="directory", path=str(tmp_path / "imgs"), image_size=(8, 8), validation_split=0.2,
                      scale="pixels"), seed=1, batch_size=4)
    assert b.class_names == ["cat", "dog"] and b.num_classes == 2 and b.input_shape == (8, 8, 3)
    assert (b.train_samples, b.val_samples, b.test_samples) == (8, 2, 0)
    x, y = next(iter(b.train_ds))
    assert tuple(x.shape[1:]) == (8, 8, 3) and float(np.max(x)) <= 1.0 and x.dtype.name == "float32"
    assert sum(int(np.asarray(bx).shape[0]) for bx, _ in b.val_ds) == 2
    p = preview(b)
    assert p["streaming"] and sum(p["class_balance"].values()) == 8 and set(p["class_balance"]) <= {"cat", "dog"}

    gray = load_data(cfg(source="directory", path=str(tmp_path / "imgs"), image_size=(4, 4), color_mode="grayscale",
                         validation_split=0, one_hot=True), batch_size=16)
    gx, gy = next(iter(gray.train_ds))
    assert tuple(gx.shape) == (10, 4, 4, 1) and tuple(gy.shape) == (10, 2) and gray.val_ds is None


def test_directory_limit_and_explicit_validation_folder(tmp_path):
    _image_folder(tmp_path / "train", {"a": 5, "b": 5})
    _image_folder(tmp_path / "val", {"a": 1, "b": 2})
    b = load_data(cfg(source="directory", path=str(tmp_path / "train"), image_size=(5, 5), limit=4,
                      validation={"path": str(tmp_path / "val")}), seed=3, batch_size=3)
    assert (b.train_samples, b.val_samples) == (4, 3)
    epochs = [sorted(np.asarray(x).sum(axis=(1, 2, 3)).tolist() for x, _ in b.train_ds) for _ in range(2)]
    flat = [sorted(v for batch in e for v in batch) for e in epochs]
    assert len(flat[0]) == 4 and flat[0] == flat[1]  # the same four images every epoch
    assert sum(preview(b)["class_balance"].values()) == 4
    assert preview(b)["class_balance"] == {"a": int((b.train_ds.labels() == 0).sum()), "b": int((b.train_ds.labels() == 1).sum())}


def test_directory_cache_still_reshuffles_every_epoch(tmp_path):
    """``cache: true`` must not freeze the first epoch's order (a cache after a shuffle replays it)."""
    _image_folder(tmp_path / "imgs", {"a": 8, "b": 8})
    orders = {}
    for cache in (False, True):
        b = load_data(cfg(source="directory", path=str(tmp_path / "imgs"), image_size=(4, 4), validation_split=0,
                          cache=cache), seed=1, batch_size=4)
        epochs = [[float(v) for x, _ in b.train_ds for v in np.asarray(x).sum(axis=(1, 2, 3))] for _ in range(4)]
        assert all(sorted(e) == sorted(epochs[0]) and len(e) == 16 for e in epochs)  # every image once per epoch
        assert [len(np.asarray(x)) for x, _ in b.train_ds] == [4, 4, 4, 4]
        orders[cache] = len({tuple(e) for e in epochs})
    assert orders == {False: 4, True: 4}


def test_directory_errors(tmp_path):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(b"x")
    with pytest.raises(DataError) as e:
        load_data(cfg(source="directory", path=str(tmp_path / "flat")))
    assert error_text(e) == (
        f"error in {tmp_path / 'flat'}:\n  data.path: has no subfolders; expected one subfolder of images per class"
    )
    with pytest.raises(DataError) as e:
        load_data(cfg(source="directory", path=str(tmp_path / "flat"), test_split=0.1))
    assert e.value.key == "data.test_split"


# ---------------------------------------------------------------- keras datasets
def test_keras_dataset_not_cached_offline_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setattr(keras_cache, "download", lambda url, target: (_ for _ in ()).throw(OSError("network is unreachable")))
    with pytest.raises(DataError) as e:
        load_data(cfg(source="keras", name="mnist"))
    target = tmp_path / "kh" / "datasets" / "mnist.npz"
    assert error_text(e) == (
        "error:\n  data.name: mnist is not in Keras' cache and could not be downloaded; put mnist.npz "
        "(from https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz) "
        f"at {target} (download error: network is unreachable)"
    )


def test_keras_download_fails_fast_when_the_host_cannot_resolve(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    # '.invalid' never resolves (RFC 2606), so this takes the real offline path anywhere.
    monkeypatch.setitem(keras_cache.KERAS_FILES, "boston_housing", [("boston_housing.npz", "https://kwb.invalid/boston_housing.npz")])
    started = time.monotonic()
    with pytest.raises(DataError) as e:
        load_data(cfg(source="keras", name="boston_housing"))
    assert time.monotonic() - started < keras_cache.RESOLVE_TIMEOUT_S + 1
    target = tmp_path / "kh" / "datasets" / "boston_housing.npz"
    assert f"put boston_housing.npz (from https://kwb.invalid/boston_housing.npz) at {target} (download error: " in (
        e.value.message
    )
    assert not target.exists() and not Path(f"{target}.kwb-partial").exists()


def test_keras_dataset_from_cache_uses_its_own_test_split(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    (tmp_path / "kh" / "datasets").mkdir(parents=True)
    (tmp_path / "kh" / "datasets" / "mnist.npz").write_bytes(b"placeholder")
    rng = np.random.default_rng(0)
    fake = ((rng.integers(0, 256, (50, 28, 28)).astype("uint8"), (np.arange(50) % 10).astype("uint8")),
            (rng.integers(0, 256, (9, 28, 28)).astype("uint8"), (np.arange(9) % 10).astype("uint8")))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    b = load_data(cfg(source="keras", name="mnist", scale="pixels", test_split=0.5), seed=0)
    assert (b.train_samples, b.val_samples, b.test_samples) == (40, 10, 9)
    assert b.input_shape == (28, 28) and b.y_train.dtype == np.int32 and b.x_test.max() <= 1.0
    assert b.class_names == [str(i) for i in range(10)] and b.num_classes == 10


def test_keras_class_name_tables():
    assert len(keras_datasets.CLASS_NAMES["cifar100"]) == 100 == len(set(keras_datasets.CLASS_NAMES["cifar100"]))
    assert set(keras_cache.KERAS_FILES) == set(KERAS_DATASETS)


# ---------------------------------------------------------------- sklearn
def test_sklearn_extra_missing_or_present():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        with pytest.raises(DataError) as e:
            load_data(cfg(source="sklearn", name="iris"))
        assert error_text(e) == (
            "error:\n  data.source: scikit-learn is not installed; install the sklearn extra: pip install -e '.[sklearn]'"
        )
    else:
        b = load_data(cfg(source="sklearn", name="iris"))
        assert b.num_classes == 3 and b.class_names == ["setosa", "versicolor", "virginica"]


# ---------------------------------------------------------------- preview, import cost
def test_preview_in_memory():
    b = load_data(cfg(source="synthetic", name="blobs", classes=3, samples=300, features_count=12), seed=0)
    p = preview(b, n=3)
    assert p["description"] == b.description and p["task"] == "classification" and not p["streaming"]
    assert p["splits"]["train"] == {"samples": 240, "x_shape": [240, 12], "x_dtype": "float32",
                                    "y_shape": [240], "y_dtype": "int32"}
    assert sum(p["class_balance"].values()) == 240 and set(p["class_balance"]) == {"0", "1", "2"}
    assert len(p["samples"]) == 3 and len(p["samples"][0]["x"]) == 8 and p["samples"][0]["truncated"]
    assert p["samples"][0]["label"] == str(p["samples"][0]["y"])
    lo, hi = p["x_range"]
    assert lo == pytest.approx(float(b.x_train.min())) and hi == pytest.approx(float(b.x_train.max()))
    r = preview(load_data(cfg(source="synthetic", name="sine", samples=50)))
    assert r["class_balance"] == {} and r["y_range"] is not None and r["samples"][0]["label"] is None


def test_preview_streamed_and_one_hot(tmp_path):
    _h5(tmp_path / "s.h5", n=40)
    b = load_data(cfg(source="hdf5", path=str(tmp_path / "s.h5"), x="g/x", y="g/y", stream=True, one_hot=True),
                  batch_size=8)
    p = preview(b)
    assert p["streaming"] and p["splits"]["train"]["from_first_batch"]
    assert p["splits"]["train"]["x_shape"] == [32, 3] and p["splits"]["train"]["y_shape"] == [32, 4]
    assert p["class_balance"] == {"0": 8, "1": 8, "2": 8, "3": 8}
    words = load_data(cfg(source="csv", path=str(FLOWERS), one_hot=True))
    assert sum(preview(words)["class_balance"].values()) == 240


def test_import_is_light():
    code = (
        "import sys, engine.data; heavy = [m for m in ('keras', 'tensorflow', 'h5py', 'textual', 'typer') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
