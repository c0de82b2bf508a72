"""engine.data.images: image folders (one subfolder per class) as tf.data datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import load_data, preview
from engine.errors import DataError


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def error_text(exc_info) -> str:
    return str(exc_info.value)


def _image_folder(root: Path, per_class: dict[str, int], size=(6, 5)) -> None:
    import tensorflow as tf  # tf.io writes PNGs without PIL

    rng = np.random.default_rng(0)
    for name, count in per_class.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            img = rng.integers(0, 256, (*size, 3)).astype("uint8")
            (root / name / f"{i}.png").write_bytes(tf.io.encode_png(img).numpy())


class TestDirectory:
    """Image folders: splits, limit, explicit validation folder, cache that still reshuffles."""

    def test_directory_source(self, tmp_path):
        _image_folder(tmp_path / "imgs", {"cat": 6, "dog": 4})
        b = load_data(cfg(source="directory", path=str(tmp_path / "imgs"), image_size=(8, 8), validation_split=0.2,
                          scale="pixels"), seed=1, batch_size=4)
        assert b.class_names == ["cat", "dog"] and b.num_classes == 2 and b.input_shape == (8, 8, 3)
        assert (b.train_samples, b.val_samples, b.test_samples) == (8, 2, 0)
        x, y = next(iter(b.train_ds))
        assert tuple(x.shape[1:]) == (8, 8, 3) and float(np.max(x)) <= 255.0 and x.dtype.name == "float32"
        assert b.scaling[""].mode == "pixels"  # raw images: the model divides by 255 (engine.preprocessing)
        assert sum(int(np.asarray(bx).shape[0]) for bx, _ in b.val_ds) == 2
        p = preview(b)
        assert p["streaming"] and sum(p["class_balance"].values()) == 8 and set(p["class_balance"]) <= {"cat", "dog"}

        gray = load_data(cfg(source="directory", path=str(tmp_path / "imgs"), image_size=(4, 4), color_mode="grayscale",
                             validation_split=0, one_hot=True), batch_size=16)
        gx, gy = next(iter(gray.train_ds))
        assert tuple(gx.shape) == (10, 4, 4, 1) and tuple(gy.shape) == (10, 2) and gray.val_ds is None

    def test_directory_limit_and_explicit_validation_folder(self, tmp_path):
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

    def test_directory_cache_still_reshuffles_every_epoch(self, tmp_path):
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


class TestDirectoryErrors:
    """A bad image folder is a DataError naming the folder and the key."""

    def test_directory_errors(self, tmp_path):
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
