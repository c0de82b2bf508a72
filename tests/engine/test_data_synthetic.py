"""engine.data.synthetic: the generated sets, seeded, with clear errors for unknown names."""

from __future__ import annotations


import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import DataBundle, load_data
from engine.errors import DataError


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def error_text(exc_info) -> str:
    return str(exc_info.value)


class TestSynthetic:
    """Synthetic sets: classification and regression, seeded, classes and features honoured."""

    @pytest.mark.parametrize("name", ["spirals", "moons", "circles", "xor", "blobs"])
    def test_synthetic_classification_sets(self, name):
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

    def test_synthetic_spirals_and_blobs_honour_classes_and_features(self):
        s = load_data(cfg(source="synthetic", name="spirals", classes=4, samples=402, validation_split=0))
        assert s.num_classes == 4 and np.bincount(s.y_train).tolist() == [101, 101, 100, 100]
        assert np.abs(s.x_train).max() < 1.5  # arms end at radius 1
        b = load_data(cfg(source="synthetic", name="blobs", classes=3, features_count=5, samples=300), seed=0)
        assert b.x_train.shape == (240, 5) and b.num_classes == 3 and b.input_shape == (5,)

    def test_synthetic_noise_zero_and_config_seed_wins(self):
        quiet = load_data(cfg(source="synthetic", name="circles", noise=0.0, samples=200, seed=7), seed=1)
        radii = np.sort(np.unique(np.round(np.linalg.norm(quiet.x_train, axis=1), 5)))
        np.testing.assert_allclose(radii, [0.5, 1.0], atol=1e-5)
        same = load_data(cfg(source="synthetic", name="circles", noise=0.0, samples=200, seed=7), seed=99)
        np.testing.assert_array_equal(quiet.x_train, same.x_train)

    def test_synthetic_sine_is_regression(self):
        b = load_data(cfg(source="synthetic", name="sine", samples=300, noise=0.0), seed=0)
        assert b.task == "regression" and b.num_classes is None
        assert b.x_train.shape == (240, 1) and b.y_train.shape == (240,)
        assert b.x_train.dtype == np.float32 and b.y_train.dtype == np.float32
        np.testing.assert_allclose(b.y_train, np.sin(b.x_train[:, 0]), atol=1e-5)
        assert b.description == "synthetic sine: 240 train / 60 val / 0 test, regression"


class TestNames:
    """An unknown or missing dataset name is a DataError with a suggestion."""

    def test_unknown_synthetic_name_suggests_closest(self):
        with pytest.raises(DataError) as e:
            load_data(cfg(source="synthetic", name="spiral"))
        assert error_text(e) == (
            "error:\n  data.name: unknown synthetic dataset 'spiral' (did you mean 'spirals'?); "
            "choose one of: spirals, moons, circles, xor, blobs, sine, two_inputs"
        )

    def test_missing_name(self):
        with pytest.raises(DataError) as e:
            load_data(cfg(source="keras"))
        assert e.value.key == "data.name"
        assert e.value.message.startswith("is required for source 'keras'; choose one of: mnist, fashion_mnist")
