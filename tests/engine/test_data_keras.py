"""engine.data.keras_datasets and keras_cache: Keras datasets from the cache, fail-fast offline; sklearn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import KERAS_DATASETS, keras_cache, keras_datasets, load_data
from engine.errors import DataError


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def error_text(exc_info) -> str:
    return str(exc_info.value)


class TestKerasDatasets:
    """Keras datasets load from Keras' cache; offline, the error names the file to fetch."""

    def test_keras_dataset_not_cached_offline_names_the_file(self, tmp_path, monkeypatch):
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

    def test_keras_download_fails_fast_when_the_host_cannot_resolve(self, tmp_path, monkeypatch):
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

    def test_keras_dataset_from_cache_uses_its_own_test_split(self, tmp_path, monkeypatch):
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
        assert b.input_shape == (28, 28) and b.y_train.dtype == np.int32
        # pixels stay raw in the bundle: the ÷255 is a Rescaling layer inside the model (engine.preprocessing)
        assert b.x_test.max() > 1.0 and b.scaling[""].mode == "pixels"
        assert b.class_names == [str(i) for i in range(10)] and b.num_classes == 10

    def test_keras_class_name_tables(self):
        assert len(keras_datasets.CLASS_NAMES["cifar100"]) == 100 == len(set(keras_datasets.CLASS_NAMES["cifar100"]))
        assert set(keras_cache.KERAS_FILES) == set(KERAS_DATASETS)


class TestSklearn:
    """scikit-learn datasets work when the extra is installed, and say how to install it when not."""

    def test_sklearn_extra_missing_or_present(self):
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
