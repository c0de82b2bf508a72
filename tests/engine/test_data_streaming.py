"""engine.data.streaming and hdf5_sequence: HDF5 read batch by batch, never whole."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import load_data, preview
from engine.preprocessing import scale_bundle
from engine.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
FLOWERS = ROOT / "sample_configs" / "data" / "flowers.csv"


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def error_text(exc_info) -> str:
    return str(exc_info.value)


def _h5(path, n=103, features=3):
    import h5py

    x = np.arange(n * features, dtype="float32").reshape(n, features)
    y = (np.arange(n) % 4).astype("int64")
    with h5py.File(path, "w") as f:
        f["g/x"] = x
        f["g/y"] = y
    return x, y


class TestHdf5Stream:
    """Streamed HDF5 gives the in-memory batches, shuffles whole batches, scales from train."""

    def test_hdf5_stream_batches_equal_in_memory_slices(self, tmp_path):
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

    def test_hdf5_stream_shuffles_whole_batches_and_scales_from_train(self, tmp_path):
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

        st = scale_bundle(load_data(cfg(**c, shuffle=False, scale="standard", one_hot=True), batch_size=48))
        mem = scale_bundle(load_data(cfg(**{**c, "stream": False}, shuffle=False, scale="standard", one_hot=True)))
        sx, sy = st.train_ds[0]
        np.testing.assert_allclose(sx, mem.x_train, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(sy, mem.y_train)
        np.testing.assert_allclose(st.val_ds[0][0], mem.x_val, rtol=1e-5, atol=1e-5)
        b.train_ds.close()

    def test_hdf5_stream_explicit_validation_file(self, tmp_path):
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

    def test_hdf5_stream_length_mismatch(self, tmp_path):
        import h5py

        path = tmp_path / "mm.h5"
        with h5py.File(path, "w") as f:
            f["x"] = np.zeros((5, 2))
            f["y"] = np.zeros(4)
        for stream in (True, False):
            with pytest.raises(DataError) as e:
                load_data(cfg(source="hdf5", path=str(path), stream=stream))
            assert error_text(e) == f"error in {path}:\n  data.y: x has 5 samples but y has 4; they must match"


class TestFitInput:
    """A streamed split trains with Keras through its tf.data pipeline."""

    def test_hdf5_stream_trains_with_keras(self, tmp_path):
        import keras

        _h5(tmp_path / "s.h5", n=40)
        b = load_data(cfg(source="hdf5", path=str(tmp_path / "s.h5"), x="g/x", y="g/y", stream=True, scale="minmax"),
                      batch_size=8)
        model = keras.Sequential([keras.Input(b.input_shape), keras.layers.Dense(b.num_classes, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        history = model.fit(b.train_ds, validation_data=b.val_ds, epochs=2, verbose=0)
        assert len(history.history["val_loss"]) == 2

    def test_hdf5_stream_to_dataset_gives_the_same_batches(self, tmp_path):
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


class TestStreamedPreview:
    """preview reads a streamed bundle from its first batch."""

    def test_preview_streamed_and_one_hot(self, tmp_path):
        _h5(tmp_path / "s.h5", n=40)
        b = load_data(cfg(source="hdf5", path=str(tmp_path / "s.h5"), x="g/x", y="g/y", stream=True, one_hot=True),
                      batch_size=8)
        p = preview(b)
        assert p["streaming"] and p["splits"]["train"]["from_first_batch"]
        assert p["splits"]["train"]["x_shape"] == [32, 3] and p["splits"]["train"]["y_shape"] == [32, 4]
        assert p["class_balance"] == {"0": 8, "1": 8, "2": 8, "3": 8}
        words = load_data(cfg(source="csv", path=str(FLOWERS), one_hot=True))
        assert sum(preview(words)["class_balance"].values()) == 240
