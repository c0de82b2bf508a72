"""engine.data.samples: the small raw sample behind the Data screen's pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import load_data
from engine.data.samples import PictureKind, draw_sample, is_image_shape

DATA = Path(__file__).resolve().parents[2] / "sample_configs" / "data"


def _npz(path: Path, **arrays) -> str:
    np.savez(path, **arrays)
    return str(path)


class TestKinds:
    """Which picture suits which data, and that the rows are the source's own, unscaled."""

    def test_two_features_are_points_with_their_own_labels(self):
        b = load_data(DataConfig(source="synthetic", name="spirals", samples=300, scale="standard"), seed=2)
        s = draw_sample(b, rows=100)
        assert s.kind is PictureKind.POINTS and s.x.shape == (100, 2) and s.task == "classification"
        # Every drawn row is a training row, with that row's label, and not scaled.
        rows = {tuple(r): int(lab) for r, lab in zip(b.x_train, b.y_train)}
        assert all(rows[tuple(r)] == int(lab) for r, lab in zip(s.x, s.y))
        assert s.class_names == ["0", "1"] and sum(s.balance.values()) == b.train_samples == s.total
        assert s.balance == {"0": int((b.y_train == 0).sum()), "1": int((b.y_train == 1).sum())}
        again = draw_sample(b, rows=100)
        assert np.array_equal(again.x, s.x)  # the same config draws the same picture

    def test_csv_table_is_features_with_class_names(self, tmp_path):
        csv = tmp_path / "f.csv"
        csv.write_text("a,b,c,kind\n" + "".join(f"{i},{i * 2},{-i},{'xy'[i % 2]}\n" for i in range(30)))
        b = load_data(DataConfig(source="csv", path=str(csv), target="kind", validation_split=0.2), seed=0)
        s = draw_sample(b)
        assert s.kind is PictureKind.FEATURES and s.x.shape == (24, 3)
        assert s.class_names == ["x", "y"] and sum(s.balance.values()) == 24
        assert {s.label(i) for i in range(len(s.y))} == {"x", "y"}

    def test_csv_columns_name_the_features(self, tmp_path):
        from engine.predict_inputs import csv_columns

        csv = tmp_path / "f.csv"
        csv.write_text("width,height,depth,kind\n" + "".join(f"{i},{i * 2},{-i},{'xy'[i % 2]}\n" for i in range(30)))
        cfg = DataConfig(source="csv", path=str(csv), target="kind", validation_split=0.2)
        b = load_data(cfg, seed=0)
        assert draw_sample(b, feature_names=csv_columns(cfg)["features"]).feature_names == ["width", "height", "depth"]
        assert draw_sample(b, feature_names=["width"]).feature_names == []  # names that do not fit are not used

    def test_csv_text_column_counted_numeric_columns_drawn_and_named(self, tmp_path):
        csv = tmp_path / "homes.csv"
        cities = ["lyon"] * 11 + ["nice"] * 6 + [""] * 3
        csv.write_text("city,size,rooms,price\n" + "".join(f"{c},{i},{i % 4},{i * 1.5}\n" for i, c in enumerate(cities)))
        b = load_data(DataConfig(source="csv", path=str(csv), target="price", validation_split=0, test_split=0), seed=0)
        s = draw_sample(b, target_name="price")
        assert s.kind is PictureKind.POINTS and s.feature_names == ["size", "rooms"] and s.task == "regression"
        assert np.allclose(s.y, s.x[:, 0] * 1.5)  # each row's own target
        assert s.categories == {"city": [("lyon", 11), ("nice", 6), ("(empty)", 3)]} and s.distinct == {"city": 3}
        assert s.target == "price"
        from tui.widgets.data_pictures import render_pictures

        text = render_pictures(s, 80, 30).plain
        assert "text columns (20 training rows)" in text and "city lyon 11 · nice 6 · (empty) 3" in text
        assert "text columns" not in render_pictures(s, 80, 9).plain  # a short pane draws the picture alone

    def test_regression_targets_are_values(self):
        b = load_data(DataConfig(source="synthetic", name="sine", samples=200), seed=1)
        s = draw_sample(b)
        assert s.task == "regression" and s.kind is PictureKind.FEATURES and s.balance == {}
        assert s.y.dtype.kind == "f" and np.allclose(np.sort(s.y), np.sort(b.y_train.reshape(-1)))
        assert s.label(0) == f"{float(s.y[0]):.3g}"

    def test_streamed_table_reads_rows_from_its_first_batches(self):
        b = load_data(DataConfig(source="hdf5", path=str(DATA / "signals.h5"), x="train/x", y="train/y", stream=True,
                                 validation_split=0.2), seed=0, batch_size=32)  # fmt: skip
        s = draw_sample(b, rows=100)
        assert s.kind is PictureKind.FEATURES and s.x.shape == (100, 16) and s.total == b.train_samples
        assert sum(s.balance.values()) == b.train_samples

    def test_one_hot_labels_become_indices(self, tmp_path):
        y = np.eye(3, dtype="float32")[np.arange(60) % 3]
        x = np.repeat(np.arange(60, dtype="float32")[:, None], 5, axis=1)  # row i holds i: its label is i % 3
        path = _npz(tmp_path / "oh.npz", x=x, y=y)
        s = draw_sample(load_data(DataConfig(source="npz", path=path, validation_split=0), seed=0))
        assert s.y.tolist() == (s.x[:, 0].astype(int) % 3).tolist()
        assert s.balance == {"0": 20, "1": 20, "2": 20}


class TestImages:
    """Rank 3 and 4 arrays of images, and image folders streamed by TensorFlow."""

    @pytest.mark.parametrize("shape", [(40, 12, 10), (40, 9, 9, 3), (40, 16, 16, 1)])
    def test_npz_images_keep_raw_pixels(self, tmp_path, shape):
        rng = np.random.default_rng(1)
        x = rng.integers(0, 256, shape).astype("uint8")
        path = _npz(tmp_path / "img.npz", x=x, y=np.arange(40) % 4)
        b = load_data(DataConfig(source="npz", path=path, validation_split=0, shuffle=False, scale="pixels"), seed=0)
        s = draw_sample(b, images=10)
        assert s.kind is PictureKind.IMAGES and s.x.shape == (10, *shape[1:]) and s.total == 40
        kept = {r.tobytes(): int(lab) for r, lab in zip(x, np.arange(40) % 4)}
        assert all(kept[np.asarray(r, dtype="uint8").tobytes()] == lab for r, lab in zip(s.x, s.y))
        assert float(s.x.max()) > 1  # raw 0-255, not divided

    def test_image_folder_from_its_first_batches(self, tmp_path):
        import tensorflow as tf

        rng = np.random.default_rng(0)
        for name, count in {"cat": 5, "dog": 3}.items():
            (tmp_path / "imgs" / name).mkdir(parents=True)
            for i in range(count):
                png = tf.io.encode_png(rng.integers(0, 256, (10, 10, 3)).astype("uint8")).numpy()
                (tmp_path / "imgs" / name / f"{i}.png").write_bytes(png)
        b = load_data(DataConfig(source="directory", path=str(tmp_path / "imgs"), image_size=(10, 10),
                                 validation_split=0), seed=0, batch_size=3)  # fmt: skip
        s = draw_sample(b, images=5)
        assert s.kind is PictureKind.IMAGES and s.x.shape == (5, 10, 10, 3)
        assert s.class_names == ["cat", "dog"] and s.balance == {"cat": 5, "dog": 3}

    @pytest.mark.parametrize(
        ("shape", "image"),
        [((28, 28), True), ((32, 32, 3), True), ((8, 30), True), ((32, 8, 4), True), ((16, 3), False),
         ((200,), False), ((100, 1), False), ((8, 40), False), ((28, 28, 2), False), ((4, 4), False)],
    )  # fmt: skip
    def test_what_reads_as_an_image(self, shape, image):
        assert is_image_shape(shape) is image
