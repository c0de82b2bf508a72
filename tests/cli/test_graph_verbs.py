"""Headless verbs on a graph model (two inputs, two outputs): train's lines, evaluate, predict, inspect, the saved model."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np

from tui.headless import split_by_output

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_configs" / "two_inputs.yaml"
SMALL = ["--set", "data.samples=300", "--set", "fit.epochs=2"]


def only_run(runs: Path) -> Path:
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return run


class TestSplitByOutput:
    """The epoch line's logs, grouped by output with Keras' own key names."""

    def test_several_outputs_are_grouped(self):
        logs = {"label_accuracy": 0.5, "label_loss": 1.0, "loss": 1.2, "score_loss": 0.4, "score_mae": 0.3,
                "val_label_loss": 0.9, "val_loss": 1.1, "val_score_loss": 0.2}  # fmt: skip
        totals, per = split_by_output(logs)
        assert totals == {"loss": 1.2, "val_loss": 1.1}
        assert list(per) == ["label", "score"]
        assert list(per["label"]) == ["label_loss", "label_accuracy", "val_label_loss"]
        assert list(per["score"]) == ["score_loss", "score_mae", "val_score_loss"]

    def test_one_output_is_all_totals(self):
        logs = {"loss": 1.0, "accuracy": 0.5, "val_loss": 0.9}
        assert split_by_output(logs) == (logs, {})


class TestGraphRun:
    """kwb train, evaluate, predict and inspect on sample_configs/two_inputs.yaml."""

    def test_train_then_every_verb(self, kwb, tmp_path: Path):
        shutil.copy(SAMPLE, tmp_path / "two_inputs.yaml")
        result = kwb("train", "two_inputs.yaml", *SMALL)
        assert result.code == 0, result
        lines = result.out.splitlines()
        epoch = lines.index(next(line for line in lines if line.startswith("epoch   1/2")))
        assert " loss " in lines[epoch] and " val_loss " in lines[epoch] and "label_loss" not in lines[epoch]
        assert lines[epoch + 1].split()[::2] == ["label_loss", "label_accuracy", "val_label_loss", "val_label_accuracy"]
        assert lines[epoch + 2].split()[::2] == ["score_loss", "score_mae", "val_score_loss", "val_score_mae"]
        run = only_run(tmp_path / "runs")
        with open(run / "history.csv", newline="") as f:
            header = next(csv.reader(f))
        assert {"label_accuracy", "val_score_mae", "score_loss", "val_label_loss"} <= set(header)

        import keras

        loaded = keras.models.load_model(run / "model.keras")
        assert [t.name for t in loaded.inputs] == ["image", "meta"] and list(loaded.output_names) == ["label", "score"]

        result = kwb("evaluate", run.name, "--split", "val")
        assert result.code == 0, result
        keys = [line.split()[0] for line in result.out.splitlines()[1:]]
        assert {"val_loss", "val_label_accuracy", "val_score_mae"} <= set(keys)

        result = kwb("inspect", run / "model.keras")
        assert result.code == 0, result
        out = result.out.splitlines()
        assert out[0].endswith("inputs image (None, 8, 8, 1), meta (None, 3)")
        assert out[1] == "  outputs label, score"
        rows = {line.split()[0]: line.split() for line in out[3:-1]}
        assert rows["skip"][-2:] == ["c1,", "c2"] and rows["both"][-2:] == ["flat,", "meta"]

        rng = np.random.default_rng(0)
        np.savez(tmp_path / "in.npz", image=rng.random((4, 8, 8, 1)), meta=rng.random((4, 3)))
        result = kwb("predict", run.name, "in.npz")
        assert result.code == 0, result
        assert len(result.out.splitlines()) == 4 and all("label: class " in s and "score: " in s for s in result.out.splitlines())
        result = kwb("predict", run.name, "in.npz", "-o", "p.npz")
        assert result.code == 0, result
        with np.load(tmp_path / "p.npz") as z:
            assert (z["label"].shape, z["score"].shape) == ((4, 3), (4, 1))
        result = kwb("predict", run.name, "in.npz", "-o", "p.csv")
        assert result.code == 2 and "write them to an .npz file" in result.err
        assert not (tmp_path / "p.csv").exists()
        np.savez(tmp_path / "half.npz", image=rng.random((4, 8, 8, 1)))
        result = kwb("predict", run.name, "half.npz")
        assert result.code == 2 and "has no array for input 'meta'; its keys are: image" in result.err


class TestValidateGraph:
    """kwb validate on a graph lists each layer's name and inputs; a stack's table is unchanged."""

    def test_validate_shows_the_wiring(self, kwb, tmp_path: Path):
        shutil.copy(SAMPLE, tmp_path / "two_inputs.yaml")
        result = kwb("validate", "two_inputs.yaml", "--set", "data.samples=100")
        assert result.code == 0, result
        lines = result.out.splitlines()
        assert lines[0] == "two_inputs.yaml: ok"
        assert lines[3].split()[-3:] == ["c1", "<-", "image"]
        assert lines[5].split()[-4:] == ["skip", "<-", "c1,", "c2"]
        assert not (tmp_path / "runs").exists()
