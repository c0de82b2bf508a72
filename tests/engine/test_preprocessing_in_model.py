"""Preprocessing inside the saved model: raw inputs in plain Keras, train-split statistics, old runs, class names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.config_io import parse_config
from engine.data import load_data
from engine.errors import DataError
from engine.preprocessing import INFO_FILE, class_names, scale_bundle, scales_inside

FAST = {"steps_per_execution": 1}


def offset_blobs(path: Path, n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated classes whose features sit far from 0 with very different spreads."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    x = centres[y] + rng.normal(0, 0.15, (n, 2))
    x = x * np.array([500.0, 0.01]) + np.array([10_000.0, -3.0])  # raw: huge offset on one, tiny span on the other
    np.savez(path, x=x.astype("float32"), y=y.astype("int32"))
    return x.astype("float32"), y


def run_cfg(data: dict, units: int = 3, **extra) -> object:
    raw = {
        "name": "pre", "seed": 3,
        "data": data,
        "model": {"layers": [{"Dense": {"units": 16, "activation": "relu"}}, {"Dense": {"units": units, "activation": "softmax"}}]},
        "compile": {"optimizer": {"name": "adam", "learning_rate": 0.05}, "loss": "sparse_categorical_crossentropy",
                    "metrics": ["accuracy"]},
        "fit": {"epochs": 8, "batch_size": 32, **FAST},
        "callbacks": {"early_stopping": None, "reduce_lr_on_plateau": None},
        **extra,
    }  # fmt: skip
    return parse_config(raw)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished standard-scaled run on raw, far-from-zero data: (run dir, x, y)."""
    from engine.session import train

    root = tmp_path_factory.mktemp("pre")
    x, y = offset_blobs(root / "d.npz")
    cfg = run_cfg({"source": "npz", "path": str(root / "d.npz"), "scale": "standard", "test_split": 0.2})
    result = train(cfg, runs_dir=root / "runs", capture_output=False)
    assert result.status == "finished", result.error
    return result.run_dir, x, y


class TestRawInputsInPlainKeras:
    """model.keras takes raw rows: keras.saving.load_model(path).predict(raw)."""

    def test_plain_keras_predicts_raw_rows(self, trained):
        import keras

        run, x, y = trained
        model = keras.saving.load_model(run / "model.keras")
        assert scales_inside(model) and model.layers[1].name == "kwb_scale"
        assert type(model.layers[1]).__name__ == "Normalization"
        accuracy = float((model.predict(x, verbose=0).argmax(1) == y).mean())
        assert accuracy > 0.9, accuracy

    def test_the_statistics_are_the_training_split_s(self, trained):
        import keras

        run, x, _ = trained
        model = keras.saving.load_model(run / "model.keras")
        cfg = run_cfg({"source": "npz", "path": str(run.parent.parent / "d.npz"), "scale": "standard", "test_split": 0.2})
        train_x = load_data(cfg.data, seed=3).x_train
        norm = model.get_layer("kwb_scale")
        out = np.asarray(norm(train_x))
        np.testing.assert_allclose(out.mean(0), 0, atol=1e-3)
        np.testing.assert_allclose(out.std(0), 1, atol=1e-3)
        whole = np.asarray(norm(x))
        assert np.abs(whole.mean(0)).max() > 1e-4  # the other splits are not re-centred on themselves

    def test_the_run_records_its_preprocessing(self, trained):
        run, _, _ = trained
        info = json.loads((run / INFO_FILE).read_text())
        assert info["scaling_in_model"] is True and info["inputs"] == {"": "standard"}


class TestScalingLayers:
    """Each data.scale becomes the right Keras layer; the data stays raw."""

    @pytest.mark.parametrize("mode", ["minmax", "standard", "pixels"])
    def test_scaling_layer_matches_the_old_pipeline(self, tmp_path: Path, mode: str):
        from engine.session import prepare

        x, _ = offset_blobs(tmp_path / "d.npz", n=60)
        cfg = run_cfg({"source": "npz", "path": str(tmp_path / "d.npz"), "scale": mode})
        prep = prepare(cfg)
        assert np.isin(prep.data.x_train[:, 0], x[:, 0]).all() and prep.data.x_train.max() > 1000  # raw rows
        layer = prep.model.get_layer("kwb_scale")
        assert type(layer).__name__ == ("Rescaling" if mode == "pixels" else "Normalization")
        old = scale_bundle(load_data(cfg.data, seed=3)).x_train  # what the pipeline used to feed
        np.testing.assert_allclose(np.asarray(layer(prep.data.x_train)), old, rtol=1e-4, atol=1e-4)

    def test_named_inputs_are_scaled_each_from_their_own_statistics(self, tmp_path: Path):
        from engine.session import prepare

        rng = np.random.default_rng(1)
        np.savez(tmp_path / "s.npz", a=rng.normal(50, 9, (80, 2)), b=rng.normal(-3, 0.1, (80, 1)), y=np.arange(80) % 3)
        cfg = parse_config({
            "name": "two", "data": {"source": "npz", "path": str(tmp_path / "s.npz"), "x": {"a": "a", "b": "b"},
                                    "scale": "standard"},
            "model": {"inputs": {"a": [2], "b": [1]}, "layers": [
                {"Concatenate": {}, "inputs": ["a", "b"]}, {"Dense": {"units": 3, "activation": "softmax"}, "name": "label"}]},
            "fit": FAST,
        })  # fmt: skip
        prep = prepare(cfg)
        assert [t.name for t in prep.model.inputs] == ["a", "b"] and prep.model.output_names == ["label"]
        for name in ("a", "b"):
            out = np.asarray(prep.model.get_layer(f"kwb_scale_{name}")(prep.data.x_train[name]))
            np.testing.assert_allclose(out.mean(0), 0, atol=1e-4)

    def test_a_constant_feature_is_not_divided_by_zero(self, tmp_path: Path):
        from engine.session import prepare

        x = np.stack([np.full(30, 3.0), np.arange(30.0)], axis=1)
        np.savez(tmp_path / "c.npz", x=x, y=np.arange(30) % 3)
        prep = prepare(run_cfg({"source": "npz", "path": str(tmp_path / "c.npz"), "scale": "standard"}))
        out = np.asarray(prep.model.get_layer("kwb_scale")(np.array([[4.0, 1.0]], "float32")))
        assert np.isfinite(out).all() and out[0, 0] == pytest.approx(1.0)


class TestOldRuns:
    """A run saved before the scaling moved into the model still evaluates and resumes right."""

    def test_an_old_run_is_scaled_in_the_pipeline(self, trained, tmp_path: Path):
        import keras

        from engine.eval_data import Split, evaluation_data
        from engine.preprocessing import legacy_run

        run, x, y = trained
        model = keras.saving.load_model(run / "model.keras")
        inner = keras.Model(model.get_layer("kwb_scale").output, model.output)  # what an old run saved
        cfg = run_cfg({"source": "npz", "path": str(run.parent.parent / "d.npz"), "scale": "standard", "test_split": 0.2})
        old_dir = tmp_path / "old"
        old_dir.mkdir()
        assert legacy_run(old_dir, "standard") and not legacy_run(run, "standard") and not legacy_run(old_dir, "none")
        old = evaluation_data(cfg, cfg, inner, old_dir, Split.test)
        new = evaluation_data(cfg, cfg, model, run, Split.test)
        assert np.abs(old.x).max() < 10 and new.x.max() > 1000  # scaled for the old model, raw for the new one
        np.testing.assert_allclose(inner.predict(old.x, verbose=0), model.predict(new.x, verbose=0), rtol=1e-4, atol=1e-5)


class TestClassNames:
    """Word labels: the vocabulary is stored with the run; other files map through it."""

    def test_word_labels_are_recorded_and_reused(self, tmp_path: Path):
        from engine.preprocessing import read_run_info, write_run_info
        from engine.session import prepare

        rng = np.random.default_rng(2)
        names = np.array(["setosa", "versicolor", "virginica"])
        y = np.arange(90) % 3
        x = y[:, None] * 3.0 + rng.normal(0, 0.3, (90, 2))
        rows = ["a,b,species"] + [f"{p:.3f},{q:.3f},{names[k]}" for (p, q), k in zip(x, y)]
        (tmp_path / "f.csv").write_text("\n".join(rows) + "\n")
        cfg = run_cfg({"source": "csv", "path": str(tmp_path / "f.csv"), "target": "species", "scale": "minmax"})
        prep = prepare(cfg)
        write_run_info(tmp_path, cfg, prep.data, prep.model)  # what kwb train writes in a new run directory
        assert class_names(tmp_path) == {"": ["setosa", "versicolor", "virginica"]}
        assert read_run_info(tmp_path)["columns"] == {"features": ["a", "b"], "target": "species",
                                                     "all": ["a", "b", "species"]}
        only = [rows[0]] + [r for r in rows[1:] if r.endswith("virginica")]
        (tmp_path / "v.csv").write_text("\n".join(only) + "\n")
        other = cfg.model_copy(update={"data": cfg.data.model_copy(update={"path": str(tmp_path / "v.csv")})})
        classes = class_names(tmp_path)
        b = load_data(other.data.model_copy(update={"validation_split": 0.0}), seed=3, classes=classes)
        assert set(b.y_train.tolist()) == {2}  # virginica keeps its index, not 0
        (tmp_path / "u.csv").write_text("a,b,species\n1,2,rose\n")
        with pytest.raises(DataError, match="rose"):
            load_data(other.data.model_copy(update={"path": str(tmp_path / "u.csv"), "validation_split": 0.0}),
                      classes=classes)  # fmt: skip


def shop_csv(path: Path, n: int = 120, seed: int = 0) -> None:
    """age (number), city (words, one cell empty), income (number), bought (yes/no)."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["paris", "oslo", "rome"], n)
    age = rng.normal(40, 12, n)
    bought = (city == "oslo") | (age > 50)
    lines = ["age,city,income,bought"] + [
        f"{a:.1f},{c},{rng.normal(3000, 500):.0f},{'yes' if b else 'no'}" for a, c, b in zip(age, city, bought)]
    lines[3] = lines[3].replace(",paris,", ",,").replace(",oslo,", ",,").replace(",rome,", ",,")  # one missing city
    path.write_text("\n".join(lines) + "\n")


class TestTextFeatures:
    """A CSV's text column becomes a string input with a StringLookup fitted on train; raw rows in plain Keras."""

    def test_text_column_is_a_string_input_of_the_saved_model(self, tmp_path: Path):
        import keras
        import tensorflow as tf

        from engine.session import prepare

        shop_csv(tmp_path / "shop.csv")
        cfg = run_cfg({"source": "csv", "path": str(tmp_path / "shop.csv"), "target": "bought", "scale": "standard"}, 2)
        prep = prepare(cfg)
        assert prep.data.features["city"] == ["oslo", "paris", "rome"] and prep.data.features["age"] is None
        assert [t.name for t in prep.model.inputs] == ["age", "city", "income"]
        assert prep.data.input_shape == (6,)  # age, 3 cities + the out-of-vocabulary slot, income
        prep.model.fit(prep.data.x_train, prep.data.y_train, epochs=2, verbose=0)
        prep.model.save(tmp_path / "m.keras")
        loaded = keras.saving.load_model(tmp_path / "m.keras")
        raw = {"age": tf.constant([[20.0], [70.0], [30.0]]), "city": tf.constant([["oslo"], [""], ["berlin"]]),
               "income": tf.constant([[1000.0], [3000.0], [2000.0]])}  # fmt: skip
        np.testing.assert_allclose(loaded.predict(raw, verbose=0), prep.model.predict(raw, verbose=0), rtol=1e-5)
        words = loaded.get_layer("kwb_scale_city_words")
        np.testing.assert_array_equal(np.asarray(words(tf.constant([[""], ["berlin"], ["oslo"]]))),
                                      [[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]])  # empty and unseen: the OOV slot

    def test_a_missing_number_is_still_refused_naming_column_and_line(self, tmp_path: Path):
        shop_csv(tmp_path / "shop.csv", n=20)
        lines = (tmp_path / "shop.csv").read_text().splitlines()
        lines[5] = "," + lines[5].split(",", 1)[1]  # no age on line 6
        (tmp_path / "shop.csv").write_text("\n".join(lines) + "\n")
        cfg = run_cfg({"source": "csv", "path": str(tmp_path / "shop.csv"), "target": "bought"})
        with pytest.raises(DataError) as info:
            load_data(cfg.data)
        assert "'age'" in info.value.message and "line 6" in info.value.message
