"""``kwb predict`` takes raw inputs shaped like the training data, refuses the rest with a sentence;
``kwb evaluate`` on another file scores it whole, through the run's own scaling and vocabulary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

NAMES = ["setosa", "versicolor", "virginica"]
HEADER = "sepal,petal,width,species"


def flowers(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three word-labelled classes; raw features far from 0 (so an unscaled model would be lost)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = np.stack([y * 40.0 + 1000, (y == 1) * 0.5, y * 0.2], axis=1) + rng.normal(0, [6.0, 0.08, 0.03], (n, 3))
    return x.astype("float32"), y


def write_csv(path: Path, x: np.ndarray, y: np.ndarray | None, header: str | None = HEADER, order=(0, 1, 2)) -> None:
    names = header.split(",") if header else None
    lines = [",".join([names[i] for i in order] + ([names[3]] if y is not None else []))] if names else []
    for row, k in zip(x, y if y is not None else [None] * len(x)):
        cells = [f"{row[i]:.5f}" for i in order] + ([NAMES[k]] if k is not None else [])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A finished standard-scaled CSV run with word labels."""
    from engine.config_io import parse_config
    from engine.session import train

    root = tmp_path_factory.mktemp("flowers")
    x, y = flowers()
    write_csv(root / "flowers.csv", x, y)
    cfg = parse_config({
        "name": "flowers", "seed": 1,
        "data": {"source": "csv", "path": str(root / "flowers.csv"), "target": "species", "scale": "standard",
                 "validation_split": 0.2, "test_split": 0.2},
        "model": {"layers": [{"Dense": {"units": 16, "activation": "relu"}}, {"Dense": {"units": 3, "activation": "softmax"}}]},
        "compile": {"optimizer": {"name": "adam", "learning_rate": 0.05}, "loss": "sparse_categorical_crossentropy",
                    "metrics": ["accuracy"]},
        "fit": {"epochs": 10, "batch_size": 16, "steps_per_execution": 1},
        "callbacks": {"early_stopping": None, "reduce_lr_on_plateau": None},
    })  # fmt: skip
    result = train(cfg, runs_dir=root / "runs", capture_output=False)
    assert result.status == "finished", result.error
    return result.run_dir


def predicted(out: str) -> list[str]:
    return [line.split("\t")[1] for line in out.splitlines()]


class TestCsvInputs:
    """A CSV like the training file: header matched by name, target ignored, class names printed."""

    def test_the_training_file_itself_predicts_its_classes(self, kwb, run: Path, tmp_path: Path):
        x, y = flowers(seed=5)
        write_csv(tmp_path / "raw.csv", x, y)
        result = kwb("predict", run, "raw.csv")
        assert result.code == 0, result
        got = predicted(result.out)
        assert len(got) == len(y) and set(got) <= {f"class {n}" for n in NAMES}
        accuracy = np.mean([g == f"class {NAMES[k]}" for g, k in zip(got, y)])
        assert accuracy > 0.9, accuracy  # raw rows: the model scales them itself
        write_csv(tmp_path / "bare.csv", x, y, header=None)  # no header, the word label still last: rows, not a header
        bare = kwb("predict", run, "bare.csv")
        assert bare.code == 0 and predicted(bare.out) == got, bare

    def test_columns_are_matched_by_name_and_a_headerless_file_by_position(self, kwb, run: Path, tmp_path: Path):
        x, _ = flowers(n=12, seed=6)
        write_csv(tmp_path / "a.csv", x, None)
        write_csv(tmp_path / "b.csv", x, None, order=(2, 0, 1))  # the same rows, columns shuffled
        write_csv(tmp_path / "c.csv", x, None, header=None)
        outs = [kwb("predict", run, name) for name in ("a.csv", "b.csv", "c.csv")]
        assert all(o.code == 0 for o in outs), outs
        assert outs[0].out == outs[1].out == outs[2].out

    def test_a_missing_or_unknown_column_is_named(self, kwb, run: Path, tmp_path: Path):
        (tmp_path / "m.csv").write_text("sepal,petal\n1000,0.1\n")
        missing = kwb("predict", run, "m.csv")
        assert missing.code == 2 and "has no column 'width'" in missing.err, missing
        (tmp_path / "u.csv").write_text("sepal,petal,width,colour\n1000,0.1,0.2,3\n")
        unknown = kwb("predict", run, "u.csv")
        assert unknown.code == 2 and "'colour'" in unknown.err and "not trained on" in unknown.err, unknown

    def test_a_bad_cell_names_column_and_line(self, kwb, run: Path, tmp_path: Path):
        (tmp_path / "bad.csv").write_text("sepal,petal,width\n1000,0.1,0.2\n1000,,0.2\n")
        result = kwb("predict", run, "bad.csv")
        assert result.code == 2 and "'petal'" in result.err and "line 3" in result.err, result


class TestArrayInputs:
    """.npy and .npz: one sample is one row, keys are named, empty input refused."""

    def test_a_one_dimensional_npy_is_one_sample(self, kwb, run: Path, tmp_path: Path):
        x, _ = flowers(n=3, seed=7)
        np.save(tmp_path / "one.npy", x[0])
        np.save(tmp_path / "many.npy", x)
        one, many = kwb("predict", run, "one.npy"), kwb("predict", run, "many.npy")
        assert one.code == 0 and len(one.out.splitlines()) == 1, one
        assert one.out.splitlines()[0] == many.out.splitlines()[0]

    def test_npz_without_x_is_refused_naming_its_keys(self, kwb, run: Path, tmp_path: Path):
        np.savez(tmp_path / "k.npz", features=np.zeros((2, 3)), labels=np.zeros(2))
        result = kwb("predict", run, "k.npz")
        assert result.code == 2 and result.err.strip().splitlines() == [
            "error in k.npz:", "  has no key 'x'; its keys are: features, labels"]

    def test_empty_input_exits_2_with_a_line(self, kwb, run: Path, tmp_path: Path):
        np.save(tmp_path / "empty.npy", np.zeros((0, 3), "float32"))
        result = kwb("predict", run, "empty.npy")
        assert result.code == 2 and result.err.strip().splitlines() == [
            "error in empty.npy:", "  holds no samples (shape (0, 3))"]


class TestOutputs:
    """-o writes what its suffix says, in a folder that exists, or exits 2 before predicting."""

    def test_output_suffix_and_folder(self, kwb, run: Path, tmp_path: Path):
        x, _ = flowers(n=4, seed=8)
        np.save(tmp_path / "x.npy", x)
        txt = kwb("predict", run, "x.npy", "-o", "out.txt")
        assert txt.code == 2 and "expected a .csv, .npy, .json or .npz file, got '.txt'" in txt.err
        assert not (tmp_path / "out.txt").exists()
        nowhere = kwb("predict", run, "x.npy", "-o", "/nonexistent/dir/out.csv")
        assert nowhere.code == 2 and "the folder /nonexistent/dir does not exist" in nowhere.err
        js = kwb("predict", run, "x.npy", "-o", "p.json")
        assert js.code == 0, js
        import json

        rows = json.loads((tmp_path / "p.json").read_text())  # named, as the .csv is
        probs = np.array([list(r["p"].values()) for r in rows])
        assert probs.shape == (4, 3) and np.allclose(probs.sum(1), 1, atol=1e-4)
        assert [r["class"] for r in rows] == [list(r["p"])[int(np.argmax(list(r["p"].values())))] for r in rows]
        assert set(rows[0]["p"]) == set(NAMES)
        # a .csv names the classes: a header, and each row's predicted class first
        from engine.preprocessing import class_names

        names = class_names(run)[""]
        assert kwb("predict", run, "x.npy", "-o", "p.csv").code == 0
        lines = (tmp_path / "p.csv").read_text().splitlines()
        assert lines[0] == "class," + ",".join(names) and len(lines) == 5
        for line, p in zip(lines[1:], probs):
            cells = line.split(",")
            assert cells[0] == names[int(np.argmax(p))] and np.allclose([float(c) for c in cells[1:]], p, atol=1e-6)

    def test_a_sigmoid_model_prints_class_and_probability(self, kwb, tmp_path: Path):
        import keras

        from engine.config_io import parse_config
        from engine.runs import create_run_dir

        rd = create_run_dir(parse_config({"name": "binary", "model": {"layers": [{"Dense": {"units": 1}}]}}), tmp_path / "runs")
        inputs = keras.Input((1,))
        out = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="ones", bias_initializer="zeros")(inputs)
        keras.Model(inputs, out).save(rd.model)
        np.save(tmp_path / "x.npy", np.array([[-2.0], [3.0]], "float32"))
        result = kwb("predict", rd.id, "x.npy", "--runs-dir", tmp_path / "runs")
        assert result.code == 0, result
        assert result.out.splitlines() == ["0\tclass 0\tp=0.8808", "1\tclass 1\tp=0.9526"]


class TestEvaluateOtherData:
    """Another file is scored whole through the run's scaling and vocabulary; --split asks for a part."""

    def test_one_class_file_is_scored_whole(self, kwb, run: Path, tmp_path: Path):
        x, y = flowers(n=90, seed=9)
        keep = y == 2
        write_csv(tmp_path / "virginica.csv", x[keep], y[keep])
        result = kwb("evaluate", run, "--set", f"data.path={tmp_path / 'virginica.csv'}")
        assert result.code == 0, result
        lines = result.out.splitlines()
        assert lines[0].endswith(f"on all of {tmp_path / 'virginica.csv'} (30 samples)")
        scores = {line.split()[0]: float(line.split()[1]) for line in lines[1:]}
        assert scores["all_accuracy"] > 0.9, scores  # not re-scaled on the one class, labels not renumbered
        part = kwb("evaluate", run, "--split", "test", "--set", "data.path=virginica.csv")  # from where kwb is typed
        assert part.code == 0 and f"on test of {tmp_path / 'virginica.csv'}" in part.out and "(6 samples)" in part.out, part

    def test_a_word_column_for_a_model_of_numbers(self, kwb, run: Path, tmp_path: Path):
        x, y = flowers(n=9, seed=3)
        write_csv(tmp_path / "words.csv", x, y)
        head, *rows = (tmp_path / "words.csv").read_text().splitlines()
        rows = [",".join((r.split(",")[0], ("wide", "narrow")[i % 2], *r.split(",")[2:])) for i, r in enumerate(rows)]
        (tmp_path / "words.csv").write_text("\n".join([head, *rows]) + "\n")  # the petal column is words
        result = kwb("evaluate", run, "--set", "data.path=words.csv")
        assert result.code == 2 and result.exception is None, result
        assert f"error in {tmp_path / 'words.csv'}" in result.err
        assert "column 'petal' is not numeric: line 2 holds 'wide'" in result.err, result.err

    def test_columns_are_matched_by_name(self, kwb, run: Path, tmp_path: Path):
        x, y = flowers(n=60, seed=5)
        write_csv(tmp_path / "same.csv", x, y)
        write_csv(tmp_path / "moved.csv", x, y, order=(2, 0, 1))  # the same rows, columns in another order
        (tmp_path / "extra.csv").write_text("\n".join(line + (",colour" if i == 0 else ",red") for i, line in
                                                      enumerate((tmp_path / "same.csv").read_text().splitlines())) + "\n")  # fmt: skip
        same = kwb("evaluate", run, "--set", "data.path=same.csv")
        assert same.code == 0, same
        for other in ("moved.csv", "extra.csv"):  # a column it never saw (words, even) is left out
            result = kwb("evaluate", run, "--set", f"data.path={other}")
            assert result.code == 0 and result.out.splitlines()[1:] == same.out.splitlines()[1:], (other, result)
        write_csv(tmp_path / "short.csv", x, y, header="sepal,petal,size,species")  # no column 'width
        short = kwb("evaluate", run, "--set", "data.path=short.csv")
        assert short.code == 2 and "data.features: no column 'width'" in short.err, short
        chosen = kwb("evaluate", run, "--set", "data.path=same.csv", "--set", "data.features=[sepal]")
        assert chosen.code == 2 and "gives 1 feature column(s) (sepal), but the model takes 3" in chosen.err, chosen

    def test_labels_that_are_not_the_models_classes(self, kwb, tmp_path: Path):
        from engine.config_io import parse_config
        from engine.session import train

        x, y = flowers(n=60, seed=6)
        lines = ["a,b,c,label"] + [f"{r[0]:.3f},{r[1]:.3f},{r[2]:.3f},{k}" for r, k in zip(x, y)]
        (tmp_path / "numbered.csv").write_text("\n".join(lines) + "\n")
        cfg = parse_config({
            "name": "numbered", "data": {"source": "csv", "path": str(tmp_path / "numbered.csv"), "target": "label"},
            "model": {"layers": [{"Dense": {"units": 3, "activation": "softmax"}}]},
            "compile": {"loss": "sparse_categorical_crossentropy"}, "fit": {"epochs": 1},
        })  # fmt: skip
        trained = train(cfg, runs_dir=tmp_path / "runs", capture_output=False)
        assert trained.status == "finished", trained.error
        for name, cell, said in (("five", "5", "holds 5 (row 2 of the data), but the model's classes are 0 to 2"),
                                 ("half", "1.5", "holds 1.5 (row 2 of the data)"),
                                 ("words", "one", "holds words (one, ")):  # fmt: skip
            bad = [lines[0], *(line.rsplit(",", 1)[0] + "," + (cell if i == 1 else ("one", "two")[i % 2] if name == "words"
                                                                 else line.rsplit(",", 1)[1])
                                for i, line in enumerate(lines[1:], 0))]  # fmt: skip
            (tmp_path / f"{name}.csv").write_text("\n".join(bad) + "\n")
            result = kwb("evaluate", trained.run_dir, "--set", f"data.path={name}.csv")
            assert result.code == 2 and result.exception is None and said in result.err, (name, result)

    def test_a_text_model_given_a_file_without_its_text_column(self, kwb, tmp_path: Path):
        from engine.session import train
        from text_csv import homes_config

        trained = train(homes_config(tmp_path), runs_dir=tmp_path / "runs", capture_output=False)
        assert trained.status == "finished", trained.error
        text = (tmp_path / "homes.csv").read_text()
        (tmp_path / "towns.csv").write_text(text.replace("size,city,kind", "size,town,kind", 1))
        renamed = kwb("evaluate", trained.run_dir, "--set", "data.path=towns.csv")
        assert renamed.code == 2 and "data.features: no column 'city'; columns: size, town, kind" in renamed.err, renamed
        (tmp_path / "sizes.csv").write_text("\n".join(",".join((r.split(",")[0], r.split(",")[2]))
                                                      for r in text.splitlines()) + "\n")  # fmt: skip
        numbers = kwb("evaluate", trained.run_dir, "--set", "data.path=sizes.csv")
        assert numbers.code == 2 and "no column 'city'" in numbers.err, numbers
        chosen = kwb("evaluate", trained.run_dir, "--set", "data.path=sizes.csv", "--set", "data.features=[size]")
        assert chosen.code == 2 and "has only number columns" in chosen.err, chosen

    def test_a_model_setting_is_refused_not_ignored(self, kwb, run: Path):
        result = kwb("evaluate", run, "--set", "model.layers[0].Dense.units=3")
        assert result.code == 2 and "scores the run's saved model.keras; model.layers[0].Dense.units changes nothing" \
            in result.err, result  # fmt: skip
        assert kwb("evaluate", run, "--set", "fit.batch_size=7").code == 0  # the one fit setting it uses

    def test_own_data_keeps_the_test_split(self, kwb, run: Path):
        result = kwb("evaluate", run)
        assert result.code == 0 and result.out.splitlines()[0].endswith("on test (30 samples)"), result


class TestOldRuns:
    """A run saved before the scaling moved into the model: predict and evaluate scale as it was trained."""

    def test_an_old_run_predicts_and_evaluates_like_the_new_one(self, kwb, run: Path, tmp_path: Path):
        import shutil

        import keras

        old = tmp_path / "runs" / run.name
        shutil.copytree(run, old)
        (old / "preprocessing.json").unlink()
        model = keras.saving.load_model(run / "model.keras")
        keras.Model(model.get_layer("kwb_scale").output, model.output).save(old / "model.keras")  # expects scaled rows
        x, y = flowers(n=30, seed=11)
        write_csv(tmp_path / "raw.csv", x, y)
        new_out, old_out = kwb("predict", run, "raw.csv", "-o", "new.npy"), kwb("predict", old, "raw.csv", "-o", "old.npy")
        assert new_out.code == 0 and old_out.code == 0, (new_out, old_out)
        np.testing.assert_allclose(np.load(tmp_path / "old.npy"), np.load(tmp_path / "new.npy"), rtol=1e-4, atol=1e-5)
        scores = [kwb("evaluate", r).out.splitlines()[1:] for r in (run, old)]
        assert scores[0] == scores[1]


class TestTextColumns:
    """A run with a text feature column predicts from a CSV by column name; empty and unseen words are fine."""

    def test_predict_reads_text_columns_by_name(self, kwb, tmp_path: Path):
        import tensorflow as tf

        from engine.config_io import parse_config
        from engine.preprocessing import write_run_info
        from engine.runs import create_run_dir
        from engine.session import prepare

        rows = ["age,city,bought"] + [f"{20 + i},{['oslo', 'rome'][i % 2]},{['no', 'yes'][i % 2]}" for i in range(20)]
        (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
        cfg = parse_config({
            "name": "shop", "data": {"source": "csv", "path": str(tmp_path / "train.csv"), "target": "bought",
                                     "scale": "standard"},
            "model": {"layers": [{"Dense": {"units": 2, "activation": "softmax"}}]}, "fit": {"steps_per_execution": 1},
        })  # fmt: skip
        prep = prepare(cfg)
        rd = create_run_dir(cfg, tmp_path / "runs")
        prep.model.save(rd.model)
        write_run_info(rd.path, cfg, prep.data, prep.model)
        (tmp_path / "new.csv").write_text("city,age\noslo,30\n,40\nberlin,50\n")  # reordered, a missing and a new city
        result = kwb("predict", rd.path, "new.csv", "-o", "p.npy")
        assert result.code == 0, result
        want = prep.model.predict({"age": tf.constant([[30.0], [40.0], [50.0]]),
                                   "city": tf.constant([["oslo"], [""], ["berlin"]])}, verbose=0)  # fmt: skip
        np.testing.assert_allclose(np.load(tmp_path / "p.npy"), want, rtol=1e-5)
        printed = kwb("predict", rd.path, "new.csv")
        assert printed.code == 0 and all(line.split("\t")[1] in ("class no", "class yes") for line in printed.out.splitlines())
