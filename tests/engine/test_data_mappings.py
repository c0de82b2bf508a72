"""engine.data with several inputs and outputs: data.x / data.y mappings, rows kept aligned, per-array steps."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.config_io import parse_config
from engine.data import fit_input, load_data, preview
from engine.preprocessing import scale_bundle
from engine.data.synthetic import TWO_INPUTS_WEIGHTS
from engine.errors import DataError, UserError

N = 60


def cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


def error_text(exc_info) -> str:
    return str(exc_info.value)


def tagged(n: int = N) -> dict[str, np.ndarray]:
    """Arrays whose row i carries i everywhere, so any misaligned row shows."""
    i = np.arange(n)
    return {
        "img": np.repeat(i[:, None, None], 16, axis=1).reshape(n, 4, 4).astype("float32"),
        "m": np.stack([i, 2 * i, 3 * i], axis=1).astype("float64"),
        "cls": (i % 3).astype("int64"),
        "val": i.astype("float64"),
    }


def assert_aligned(x: dict, y: dict) -> None:
    rows = x["meta"][:, 0]
    np.testing.assert_array_equal(x["image"][:, 0, 0], rows)
    np.testing.assert_array_equal(x["meta"][:, 2], 3 * rows)
    np.testing.assert_array_equal(y["label"], rows.astype(int) % 3)
    np.testing.assert_array_equal(y["score"], rows)


MAPPED = dict(x={"image": "img", "meta": "m"}, y={"label": "cls", "score": "val"})


class TestNpzMappings:
    """npz keys per input and output: dicts keyed by name, rows aligned through shuffle, splits and limit."""

    def test_mapping_gives_named_dicts_with_aligned_rows(self, tmp_path):
        np.savez(tmp_path / "d.npz", **tagged())
        b = load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), validation_split=0.2, test_split=0.1, **MAPPED),
                      seed=3)  # fmt: skip
        assert list(b.x_train) == ["image", "meta"] and list(b.y_train) == ["label", "score"]
        assert b.input_names == ("image", "meta") and b.output_names == ("label", "score")
        assert b.input_shape == {"image": (4, 4), "meta": (3,)}
        assert (b.train_samples, b.val_samples, b.test_samples) == (42, 12, 6)
        for x, y in ((b.x_train, b.y_train), (b.x_val, b.y_val), (b.x_test, b.y_test)):
            assert_aligned(x, y)
        seen = np.concatenate([b.x_train["meta"][:, 0], b.x_val["meta"][:, 0], b.x_test["meta"][:, 0]])
        assert sorted(seen) == list(range(N)) and not np.array_equal(seen, np.arange(N))  # shuffled, none lost
        assert b.x_train["meta"].dtype == np.float32 and b.y_train["label"].dtype == np.int32
        assert b.description == (
            "npz d.npz: 42 train / 12 val / 6 test; inputs image (4, 4), meta (3,); "
            "outputs label 3 classes, score regression"
        )

    def test_limit_keeps_the_same_first_rows_of_every_array(self, tmp_path):
        np.savez(tmp_path / "d.npz", **tagged())
        full = load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), **MAPPED), seed=1)
        cut = load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), limit=10, **MAPPED), seed=1)
        assert cut.train_samples == 10 and cut.val_samples == full.val_samples
        for name in ("image", "meta"):
            np.testing.assert_array_equal(cut.x_train[name], full.x_train[name][:10])
        assert_aligned(cut.x_train, cut.y_train)

    def test_only_x_mapped_keeps_one_unnamed_target(self, tmp_path):
        np.savez(tmp_path / "d.npz", **tagged())
        b = load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), x={"image": "img", "meta": "m"}, y="cls"))
        assert isinstance(b.x_train, dict) and isinstance(b.y_train, np.ndarray)
        assert b.output_names == () and b.targets == {} and (b.task, b.num_classes) == ("classification", 3)
        assert b.description.endswith("; inputs image (4, 4), meta (3,); 3 classes")

    def test_missing_key_names_the_mapping_key_and_the_file_keys(self, tmp_path):
        path = tmp_path / "data.npz"
        np.savez(path, a=np.zeros((4, 2)), b=np.zeros(4))
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(path), x={"meta": "m"}, y="b"))
        assert error_text(e) == f"error in {path}:\n  data.x.meta: 'm' is not a key of data.npz (keys: a, b)"
        np.savez(path, image=np.zeros((4, 2)), y=np.zeros(4))
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(path), x={"image": "imgae"}))
        assert error_text(e).endswith(
            "data.x.image: 'imgae' is not a key of data.npz (keys: image, y); did you mean 'image'?"
        )

    def test_row_count_mismatch_between_arrays_names_both_keys(self, tmp_path):
        path = tmp_path / "d.npz"
        np.savez(path, a=np.zeros((10, 2)), m=np.zeros((9, 3)), y=np.zeros(10))
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(path), x={"image": "a", "meta": "m"}))
        assert error_text(e) == (
            f"error in {path}:\n  data.x.meta: has 9 rows but data.x.image has 10; every array needs one row per sample"
        )

    def test_a_list_of_keys_is_refused_for_npz(self, tmp_path):
        path = tmp_path / "d.npz"
        np.savez(path, a=np.zeros((4, 2)), y=np.zeros(4))
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(path), x={"image": ["a", "y"]}))
        assert error_text(e) == "error:\n  data.x.image: an npz key is one name, got ['a', 'y']"


class TestPerArrayPreprocessing:
    """Scaling per input from the training split, one-hot per class output, task per output."""

    def test_standard_scaling_is_per_input_and_from_training_rows_only(self, tmp_path):
        rng = np.random.default_rng(0)
        np.savez(tmp_path / "s.npz", a=rng.normal(50, 9, (200, 2)), b=rng.normal(-3, 0.1, (200, 1)), y=np.zeros(200))
        b = scale_bundle(load_data(cfg(source="npz", path=str(tmp_path / "s.npz"), x={"a": "a", "b": "b"}, scale="standard")))
        for name in ("a", "b"):
            np.testing.assert_allclose(b.x_train[name].mean(0), 0, atol=1e-5)
            np.testing.assert_allclose(b.x_train[name].std(0), 1, atol=1e-4)
            assert b.x_train[name].dtype == np.float32
            assert abs(b.x_val[name].mean()) > 1e-6  # validation is not re-centred on itself
        mm = scale_bundle(load_data(cfg(source="npz", path=str(tmp_path / "s.npz"), x={"a": "a", "b": "b"}, scale="minmax")))
        assert all(mm.x_train[n].min() == pytest.approx(0) and mm.x_train[n].max() == pytest.approx(1) for n in "ab")

    def test_one_hot_encodes_class_outputs_and_leaves_regression_outputs(self, tmp_path):
        np.savez(tmp_path / "d.npz", **tagged())
        b = load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), one_hot=True, **MAPPED), seed=2)
        assert b.y_train["label"].shape == (b.train_samples, 3) and b.y_train["label"].dtype == np.float32
        np.testing.assert_array_equal(b.y_train["label"].argmax(1), b.x_train["meta"][:, 0].astype(int) % 3)
        assert b.y_train["score"].shape == (b.train_samples,)
        assert b.targets["label"].task == "classification" and b.targets["label"].num_classes == 3
        assert b.targets["score"].task == "regression" and b.targets["score"].num_classes is None
        assert (b.task, b.num_classes) == ("mixed", None)

    def test_one_hot_with_only_regression_outputs_is_refused(self, tmp_path):
        np.savez(tmp_path / "r.npz", x=np.zeros((10, 2)), s=np.linspace(0, 1, 10), t=np.linspace(1, 2, 10))
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(tmp_path / "r.npz"), y={"s": "s", "t": "t"}, one_hot=True))
        assert error_text(e) == "error:\n  data.one_hot: needs integer class labels, but the targets are not (regression data?)"

    def test_one_named_output_describes_the_bundle(self, tmp_path):
        np.savez(tmp_path / "d.npz", **tagged())
        b = load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), x="m", y={"label": "cls"}))
        assert isinstance(b.x_train, np.ndarray) and b.input_names == () and b.output_names == ("label",)
        assert (b.task, b.num_classes) == ("classification", 3)


class TestCsvMappings:
    """CSV column lists per input and output; word labels per output; validation files reuse them."""

    def _write(self, path: Path, rows: int = 40, start: int = 0) -> None:
        lines = ["f1,f2,f3,kind,value"]
        for i in range(start, start + rows):
            lines.append(f"{i},{2 * i},{3 * i},{['cat', 'dog'][i % 2]},{i / 10}")
        path.write_text("\n".join(lines) + "\n")

    def test_columns_per_input_and_output(self, tmp_path):
        self._write(tmp_path / "t.csv")
        b = load_data(cfg(source="csv", path=str(tmp_path / "t.csv"), x={"wide": ["f1", "f2"], "deep": ["f3"]},
                          y={"label": ["kind"], "score": ["value"]}), seed=1)  # fmt: skip
        assert b.input_shape == {"wide": (2,), "deep": (1,)}
        first = b.x_train["wide"][:, 0]
        np.testing.assert_array_equal(b.x_train["deep"][:, 0], 3 * first)
        np.testing.assert_array_equal(b.y_train["label"], first.astype(int) % 2)
        np.testing.assert_allclose(b.y_train["score"], first / 10, rtol=1e-6)
        assert b.targets["label"].class_names == ["cat", "dog"] and b.targets["score"].task == "regression"

    def test_y_mapping_alone_takes_every_other_column_as_features(self, tmp_path):
        self._write(tmp_path / "t.csv")
        b = load_data(cfg(source="csv", path=str(tmp_path / "t.csv"), y={"label": ["kind"], "score": ["value"]}))
        assert b.input_shape == (3,) and b.input_names == ()

    def test_validation_file_reuses_the_label_words(self, tmp_path):
        self._write(tmp_path / "t.csv")
        self._write(tmp_path / "v.csv", rows=5, start=1)  # starts with 'dog', which must stay class 1
        b = load_data(cfg(source="csv", path=str(tmp_path / "t.csv"), x={"wide": ["f1", "f2"], "deep": ["f3"]},
                          y={"label": ["kind"], "score": ["value"]}, validation={"path": str(tmp_path / "v.csv")}))  # fmt: skip
        assert b.val_samples == 5
        np.testing.assert_array_equal(b.y_val["label"], [1, 0, 1, 0, 1])

    def test_unknown_column_names_the_mapping_key(self, tmp_path):
        self._write(tmp_path / "t.csv")
        with pytest.raises(DataError) as e:
            load_data(cfg(source="csv", path=str(tmp_path / "t.csv"), x={"wide": ["f1", "valeu"]}))
        assert error_text(e) == (
            f"error in {tmp_path / 't.csv'}:\n  data.x.wide: no column 'valeu' (did you mean 'value'?); "
            "columns: f1, f2, f3, kind, value"
        )


def _h5(path: Path, n: int = N) -> dict[str, np.ndarray]:
    import h5py

    arrays = tagged(n)
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f[f"g/{k}"] = v
    return arrays


H5_MAPPED = dict(x={"image": "g/img", "meta": "/g/m"}, y={"label": "g/cls", "score": "g/val"})


class TestHdf5Mappings:
    """HDF5 dataset paths per name, in memory and streamed; streamed batches are dicts of the same rows."""

    def test_in_memory_mapping(self, tmp_path):
        _h5(tmp_path / "d.h5")
        b = load_data(cfg(source="hdf5", path=str(tmp_path / "d.h5"), **H5_MAPPED), seed=4)
        assert_aligned(b.x_train, b.y_train)
        assert b.input_shape == {"image": (4, 4), "meta": (3,)}

    def test_streamed_batches_are_dicts_of_in_memory_slices(self, tmp_path):
        import keras

        _h5(tmp_path / "d.h5")
        c = dict(source="hdf5", path=str(tmp_path / "d.h5"), shuffle=False, validation_split=0.2, **H5_MAPPED)
        mem = load_data(cfg(**c))
        b = load_data(cfg(stream=True, **c), batch_size=16)
        assert isinstance(b.train_ds, keras.utils.PyDataset) and b.x_train is None
        assert b.input_names == ("image", "meta") and b.output_names == ("label", "score")
        assert b.input_shape == {"image": (4, 4), "meta": (3,)} and b.targets["label"].num_classes == 3
        assert b.description == (
            "hdf5 d.h5 (streamed): 48 train / 12 val / 0 test; inputs image (4, 4), meta (3,); "
            "outputs label 3 classes, score regression"
        )
        for i in range(len(b.train_ds)):
            bx, by = b.train_ds[i]
            rows = slice(16 * i, min(16 * i + 16, 48))
            for name in ("image", "meta"):
                np.testing.assert_array_equal(bx[name], mem.x_train[name][rows])
            for name in ("label", "score"):
                np.testing.assert_array_equal(by[name], mem.y_train[name][rows])
            assert by["label"].dtype == np.int32 and by["score"].dtype == np.float32
        clone = pickle.loads(pickle.dumps(b.train_ds))
        np.testing.assert_array_equal(clone[1][0]["meta"], mem.x_train["meta"][16:32])

    def test_streamed_tf_pipeline_yields_dicts_and_scales_per_input(self, tmp_path):
        _h5(tmp_path / "d.h5", n=100)
        c = dict(source="hdf5", path=str(tmp_path / "d.h5"), shuffle=True, validation_split=0.2, scale="minmax",
                 one_hot=True, **H5_MAPPED)  # fmt: skip
        b = scale_bundle(load_data(cfg(stream=True, **c), seed=0, batch_size=8))
        rows = 0
        for x, y in fit_input(b.train_ds, shuffle=True):
            assert set(x) == {"image", "meta"} and set(y) == {"label", "score"}
            image, meta, label = x["image"].numpy(), x["meta"].numpy(), y["label"].numpy()
            assert image.min() >= 0 and image.max() <= 1 and meta.min() >= 0 and meta.max() <= 1
            np.testing.assert_allclose(image[:, 0, 0], meta[:, 0], atol=1e-6)  # rows stay aligned
            np.testing.assert_array_equal(label.argmax(1), np.rint(meta[:, 0] * 79).astype(int) % 3)
            rows += len(meta)
        assert rows == 80

    def test_streamed_row_mismatch_and_unknown_dataset(self, tmp_path):
        import h5py

        path = tmp_path / "bad.h5"
        with h5py.File(path, "w") as f:
            f["a"], f["m"], f["y"] = np.zeros((10, 2)), np.zeros((8, 3)), np.zeros(10)
        with pytest.raises(DataError) as e:
            load_data(cfg(source="hdf5", path=str(path), stream=True, x={"image": "a", "meta": "m"}))
        assert error_text(e) == (
            f"error in {path}:\n  data.x.meta: has 8 rows but data.x.image has 10; every array needs one row per sample"
        )
        with pytest.raises(DataError) as e:
            load_data(cfg(source="hdf5", path=str(path), stream=True, x={"image": "a", "meta": "mm"}))
        assert "data.x.meta: no dataset 'mm' in this file (did you mean 'm'?)" in error_text(e)


class TestExplicitFiles:
    """Validation and test files name the same arrays: keys default to the training names, shapes must match."""

    def test_keys_default_to_the_training_names_for_named_sources(self, tmp_path):
        v = tagged(7)
        np.savez(tmp_path / "v.npz", image=np.zeros((7, 8, 8, 1)), meta=v["m"], label=v["cls"] % 3,
                 score=v["val"])  # fmt: skip
        b = load_data(cfg(source="synthetic", name="two_inputs", samples=50, classes=3,
                          validation={"path": str(tmp_path / "v.npz")}), seed=1)  # fmt: skip
        assert b.val_samples == 7 and set(b.x_val) == {"image", "meta"} and set(b.y_val) == {"label", "score"}
        np.testing.assert_array_equal(b.x_val["meta"], v["m"])

    def test_a_different_sample_shape_is_refused(self, tmp_path):
        np.savez(tmp_path / "d.npz", **tagged())
        bad = tagged(5)
        bad["m"] = np.zeros((5, 4))
        np.savez(tmp_path / "t.npz", **bad)
        with pytest.raises(DataError) as e:
            load_data(cfg(source="npz", path=str(tmp_path / "d.npz"), test={"path": str(tmp_path / "t.npz")}, **MAPPED))
        assert error_text(e) == (
            f"error in {tmp_path / 't.npz'}:\n  data.test.x.meta: samples have shape (4,) but the training data's are (3,)"
        )


class TestTwoInputs:
    """synthetic two_inputs: an image and three numbers in, a class and a score out, seeded and learnable."""

    def test_shapes_dtypes_and_seed(self):
        b = load_data(cfg(source="synthetic", name="two_inputs", samples=200, classes=3), seed=5)
        assert b.input_shape == {"image": (8, 8, 1), "meta": (3,)}
        assert b.x_train["image"].shape == (160, 8, 8, 1) and b.x_train["image"].dtype == np.float32
        assert b.x_train["meta"].shape == (160, 3) and b.y_train["score"].dtype == np.float32
        assert b.y_train["label"].dtype == np.int32 and set(np.unique(b.y_train["label"])) == {0, 1, 2}
        assert b.targets["label"].num_classes == 3 and b.targets["score"].task == "regression"
        again = load_data(cfg(source="synthetic", name="two_inputs", samples=200, classes=3), seed=5)
        np.testing.assert_array_equal(b.x_train["image"], again.x_train["image"])
        np.testing.assert_array_equal(b.y_val["score"], again.y_val["score"])

    def test_the_relations_hold(self):
        b = load_data(cfg(source="synthetic", name="two_inputs", samples=400, classes=2, noise=0.0), seed=1)
        fit = b.x_train["meta"] @ TWO_INPUTS_WEIGHTS + 0.5
        np.testing.assert_allclose(b.y_train["score"], fit, atol=1e-5)
        image, label = b.x_train["image"][..., 0], b.y_train["label"]
        # class 0 stripes vary along the columns only, class 1 (at 90°) along the rows only
        np.testing.assert_allclose(np.ptp(image[label == 0], axis=1), 0, atol=1e-5)
        np.testing.assert_allclose(np.ptp(image[label == 1], axis=2), 0, atol=1e-5)

    def test_a_mapping_renames_its_arrays_and_sources_without_names_refuse_one(self):
        b = load_data(cfg(source="synthetic", name="two_inputs", samples=50, x={"pixels": "image", "numbers": "meta"},
                          y={"cls": "label"}), seed=1)  # fmt: skip
        assert b.input_names == ("pixels", "numbers") and b.output_names == ("cls",)
        with pytest.raises(DataError) as e:
            load_data(cfg(source="synthetic", name="two_inputs", x={"pixels": "imgae"}))
        assert error_text(e) == (
            "error:\n  data.x.pixels: 'imgae' is not a key of synthetic two_inputs (keys: image, meta); "
            "did you mean 'image'?"
        )
        with pytest.raises(DataError) as e:
            load_data(cfg(source="directory", path=".", x={"image": "x"}))
        assert error_text(e) == (
            "error:\n  data.x: image folders give one image input and one label; "
            "a mapping by name needs an npz, HDF5 or CSV file"
        )
        with pytest.raises(DataError) as e:
            load_data(cfg(source="synthetic", name="spirals", x={"points": "x"}))
        assert error_text(e) == (
            "error:\n  data.x: a mapping names arrays of an npz, HDF5 or CSV file; synthetic spirals has one unnamed array"
        )


class TestNamedPreview:
    """preview describes each input and output by name, in memory and streamed."""

    def test_in_memory(self):
        b = load_data(cfg(source="synthetic", name="two_inputs", samples=100, classes=3), seed=1)
        p = preview(b, n=2)
        assert p["input_shape"] == {"image": [8, 8, 1], "meta": [3]} and p["task"] == "mixed"
        assert p["inputs"]["image"]["shape"] == [80, 8, 8, 1] and p["inputs"]["meta"]["dtype"] == "float32"
        label, score = p["outputs"]["label"], p["outputs"]["score"]
        assert label["task"] == "classification" and sum(label["class_balance"].values()) == 80
        assert score["class_balance"] == {} and score["range"] is not None
        assert len(p["samples"]) == 2 and set(p["samples"][0]["x"]) == {"image", "meta"}
        first = p["samples"][0]
        assert first["label"]["label"] == str(first["y"]["label"]) and first["label"]["score"] is None

    def test_streamed(self, tmp_path):
        _h5(tmp_path / "d.h5")
        b = load_data(cfg(source="hdf5", path=str(tmp_path / "d.h5"), stream=True, **H5_MAPPED), batch_size=8)
        p = preview(b, n=3)
        assert p["streaming"] and p["inputs"]["meta"]["shape"] == [48, 3]
        assert p["outputs"]["label"]["class_balance"] == {"0": 16, "1": 16, "2": 16}
        assert len(p["samples"]) == 3


TWO_INPUTS_RUN = {
    "name": "graph-data", "seed": 1,
    "data": {"source": "synthetic", "name": "two_inputs", "samples": 96, "classes": 3, "validation_split": 0.25,
             "test_split": 0.125},
    "model": {
        "inputs": {"image": [8, 8, 1], "meta": [3]},
        "layers": [
            {"Flatten": {}, "name": "flat", "inputs": ["image"]},
            {"Concatenate": {}, "name": "both", "inputs": ["flat", "meta"]},
            {"Dense": {"units": 3, "activation": "softmax"}, "name": "label", "inputs": ["both"]},
            {"Dense": {"units": 1}, "name": "score", "inputs": ["both"]},
        ],
        "outputs": ["label", "score"],
    },
    "compile": {"loss": {"label": "sparse_categorical_crossentropy", "score": "mse"}, "metrics": {"label": ["accuracy"]}},
    "fit": {"epochs": 2, "batch_size": 16},
    "callbacks": {"early_stopping": None, "reduce_lr_on_plateau": None, "model_checkpoint": None},
}  # fmt: skip


class TestTraining:
    """Dict inputs and targets flow into fit and evaluate; class weights Keras cannot apply are refused."""

    def test_a_two_input_two_output_run_trains_and_scores_on_the_test_split(self, tmp_path):
        from engine.session import train

        result = train(parse_config(TWO_INPUTS_RUN), runs_dir=tmp_path / "runs", capture_output=False)
        assert result.status == "finished", result
        assert {"test_loss", "test_label_loss", "test_score_loss", "test_label_accuracy"} <= set(result.evaluation)

    def test_streamed_named_datasets_train(self, tmp_path):
        from engine.session import train

        _h5(tmp_path / "d.h5", n=64)
        raw = {**TWO_INPUTS_RUN, "data": {"source": "hdf5", "path": str(tmp_path / "d.h5"), "stream": True,
                                          "validation_split": 0.25, **H5_MAPPED}}  # fmt: skip
        raw["model"] = {**raw["model"], "inputs": {"image": [4, 4], "meta": [3]}}
        result = train(parse_config(raw), runs_dir=tmp_path / "runs", capture_output=False)
        assert result.status == "finished", result
        assert {"val_loss", "val_label_loss", "val_score_loss"} <= set(result.evaluation)

    @pytest.mark.parametrize("weights", ["balanced", {0: 1.0, 1: 2.0, 2: 1.0}])
    def test_class_weight_with_targets_per_output_is_refused_before_anything_is_written(self, tmp_path, weights):
        from engine.session import prepare

        raw = {**TWO_INPUTS_RUN, "fit": {**TWO_INPUTS_RUN["fit"], "class_weight": weights}}
        with pytest.raises(UserError) as e:
            prepare(parse_config(raw))
        assert error_text(e) == (
            "error:\n  fit.class_weight: Keras weighs classes only for a model with one target array, and this data "
            "has one per output (label, score); leave fit.class_weight out, or give data.y as one key for a "
            "single-output model"
        )
