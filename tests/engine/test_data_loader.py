"""engine.data.loader and bundle: splits, shuffling, scaling, one-hot, explicit files, preview, import cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import load_data, preview
from engine.preprocessing import scale_bundle
from engine.errors import DataError

ROOT = Path(__file__).resolve().parents[2]


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def error_text(exc_info) -> str:
    return str(exc_info.value)


class TestSplits:
    """Splits are fractions of the whole; limit keeps the first samples; no shuffle keeps file order."""

    def test_splits_are_fractions_of_the_whole_and_limit_keeps_first(self):
        b = load_data(cfg(source="synthetic", name="moons", samples=1000, validation_split=0.2, test_split=0.1))
        assert (b.train_samples, b.val_samples, b.test_samples) == (700, 200, 100)
        full = load_data(cfg(source="synthetic", name="moons", samples=1000, seed=5))
        cut = load_data(cfg(source="synthetic", name="moons", samples=1000, seed=5, limit=50))
        assert cut.train_samples == 50 and cut.val_samples == 200
        np.testing.assert_array_equal(cut.x_train, full.x_train[:50])
        np.testing.assert_array_equal(cut.x_val, full.x_val)

    def test_no_shuffle_keeps_file_order(self, tmp_path):
        x = np.arange(20, dtype="float32").reshape(10, 2)
        y = np.arange(10) % 2
        np.savez(tmp_path / "d.npz", x=x, y=y)
        b = load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), shuffle=False, validation_split=0.2, test_split=0.1))
        np.testing.assert_array_equal(b.x_train, x[:7])
        np.testing.assert_array_equal(b.x_val, x[7:9])
        np.testing.assert_array_equal(b.x_test, x[9:])


class TestPreprocessing:
    """Scaling statistics come from the training split (applied by the model; scale_bundle here); pixels, one-hot."""

    def test_scaling_uses_train_statistics_only(self):
        mm = scale_bundle(load_data(cfg(source="synthetic", name="blobs", samples=400, scale="minmax", test_split=0.2), seed=1))
        assert mm.x_train.min() == pytest.approx(0) and mm.x_train.max() == pytest.approx(1)
        assert mm.x_train.dtype == np.float32 and mm.x_val.dtype == np.float32
        st = scale_bundle(load_data(cfg(source="synthetic", name="blobs", samples=400, scale="standard"), seed=1))
        np.testing.assert_allclose(st.x_train.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(st.x_train.std(0), 1, atol=1e-4)
        assert abs(st.x_val.mean()) > 1e-6  # validation is not re-centred on itself

    def test_standard_scaling_keeps_constant_features(self, tmp_path):
        x = np.stack([np.full(10, 3.0), np.arange(10.0)], axis=1)
        np.savez(tmp_path / "c.npz", x=x, y=np.zeros(10, "int32"))
        b = scale_bundle(load_data(cfg(source="npz", path=str(tmp_path / "c.npz"), scale="standard", validation_split=0)))
        np.testing.assert_array_equal(b.x_train[:, 0], 0)
        assert np.isfinite(b.x_train).all()

    def test_pixels_and_one_hot(self, tmp_path):
        x = np.random.default_rng(0).integers(0, 256, (20, 4, 4)).astype("uint8")
        y = np.arange(20) % 3
        np.savez(tmp_path / "img.npz", x=x, y=y)
        b = scale_bundle(load_data(cfg(source="npz", path=str(tmp_path / "img.npz"), scale="pixels", one_hot=True, shuffle=False)))
        assert b.x_train.dtype == np.float32 and b.x_train.max() <= 1.0
        np.testing.assert_allclose(b.x_train, x[:16] / 255.0, rtol=1e-6)
        assert b.y_train.shape == (16, 3) and b.y_train.dtype == np.float32
        np.testing.assert_array_equal(b.y_train.argmax(1), y[:16])
        assert b.num_classes == 3 and b.input_shape == (4, 4)

    def test_one_hot_refuses_regression_targets(self):
        with pytest.raises(DataError) as e:
            load_data(cfg(source="synthetic", name="sine", one_hot=True))
        assert error_text(e) == (
            "error:\n  data.one_hot: needs integer class labels, but the targets are not (regression data?)"
        )


class TestExplicitFiles:
    """data.validation / data.test files replace the matching split."""

    def test_explicit_validation_and_test_files_replace_splits(self, tmp_path):
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

    def test_synthetic_with_explicit_file_takes_kind_from_suffix(self, tmp_path):
        np.savez(tmp_path / "v.npz", x=np.zeros((5, 2)), y=np.zeros(5, "int32"))
        b = load_data(cfg(source="synthetic", name="xor", samples=100, validation={"path": str(tmp_path / "v.npz")}))
        assert (b.train_samples, b.val_samples) == (100, 5)
        with pytest.raises(DataError) as e:
            load_data(cfg(source="synthetic", name="xor", validation={"path": str(tmp_path / "v.parquet")}))
        assert e.value.key == "data.validation.path"
        assert "use a .npz, .csv, .h5 or .hdf5 file" in e.value.message


class TestPreview:
    """engine.data.preview summarises a bundle for the Data screen."""

    def test_preview_in_memory(self):
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


class TestImportCost:
    """Importing engine.data loads no Keras, TensorFlow, h5py or UI."""

    def test_import_is_light(self):
        code = (
            "import sys, engine.data; heavy = [m for m in ('keras', 'tensorflow', 'h5py', 'textual', 'typer') "
            "if m in sys.modules]; print(heavy)"
        )
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "[]"
