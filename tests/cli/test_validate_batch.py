"""``kwb validate`` runs one real batch, and ``kwb train`` refuses bad data and bad compile settings the same way:
exit 2, one sentence naming the key, no traceback, no run directory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FLOWERS = ROOT / "sample_configs" / "flowers_csv.yaml"
AUC_SENTENCE = "compile.metrics[1]: auc compares the labels with each of the model's 3 outputs, but the labels are class indices"


def flowers(tmp_path: Path, csv_edit: Callable[[list[str]], None] | None = None, **compile_: object) -> Path:
    """flowers_csv.yaml in ``tmp_path`` (2 epochs), its CSV edited by ``csv_edit``, compile keys overridden."""
    lines = (ROOT / "sample_configs" / "data" / "flowers.csv").read_text().splitlines()
    if csv_edit is not None:
        csv_edit(lines)
    (tmp_path / "flowers.csv").write_text("\n".join(lines) + "\n")
    raw = yaml.safe_load(FLOWERS.read_text())
    raw["data"]["path"] = "flowers.csv"
    raw["fit"]["epochs"] = 2
    raw["compile"].update(compile_)
    path = tmp_path / "flowers.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def npz_config(tmp_path: Path, x: np.ndarray, y: np.ndarray, **data: object) -> Path:
    np.savez(tmp_path / "d.npz", x=x, y=y)
    raw = {
        "name": "npz", "data": {"source": "npz", "path": "d.npz", **data},
        "model": {"layers": [{"Dense": {"units": 3, "activation": "softmax"}}]},
        "compile": {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}, "fit": {"epochs": 1},
    }  # fmt: skip
    path = tmp_path / "npz.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def no_run_written(runs: Path) -> bool:
    return not runs.exists() or not any(runs.iterdir())


class TestValidateRunsOneBatch:
    """validate fails where fit would, with the sentence train then gives too."""

    def test_auc_on_a_multi_class_model(self, kwb, tmp_path: Path):
        cfg = flowers(tmp_path, metrics=["accuracy", "auc"])
        result = kwb("validate", cfg)
        assert result.code == 2, result
        assert AUC_SENTENCE in result.err and "Traceback" not in result.err + result.out
        assert result.out == ""
        runs = tmp_path / "runs"
        trained = kwb("train", cfg, "--runs-dir", runs)
        assert trained.code == 2, trained
        assert [line for line in trained.err.splitlines() if AUC_SENTENCE in line] == [
            line for line in result.err.splitlines() if AUC_SENTENCE in line
        ]
        assert len(trained.err) < 800 and "Traceback" not in trained.err
        assert no_run_written(runs)

    def test_one_hot_targets_with_sparse_loss(self, kwb, tmp_path: Path):
        rng = np.random.default_rng(0)
        cfg = npz_config(tmp_path, rng.random((40, 4)), np.eye(3)[rng.integers(0, 3, 40)])
        result = kwb("validate", cfg)
        assert result.code == 2, result
        assert "compile.loss: sparse_categorical_crossentropy takes class numbers, but the targets are one-hot" in result.err

    def test_a_good_config_still_validates(self, kwb, tmp_path: Path):
        result = kwb("validate", flowers(tmp_path))
        assert result.code == 0, result
        assert result.out.startswith(f"{tmp_path / 'flowers.yaml'}: ok")


def _nan_cell(lines: list[str]) -> None:
    lines[5] = "nan," + lines[5].split(",", 1)[1]


def _inf_cell(lines: list[str]) -> None:
    lines[9] = lines[9].rsplit(",", 2)[0] + ",inf," + lines[9].rsplit(",", 1)[1]


class TestTrainRefusesBadData:
    """Bad data: exit 2 before any run directory exists (the found hole: a CSV 'nan' cell trained and exited 0)."""

    @pytest.mark.parametrize(
        "edit, expected",
        [(_nan_cell, "sepal_length"), (_inf_cell, "column 'petal_width' holds Inf")],
        ids=["csv_nan_cell", "csv_inf_cell"],
    )
    def test_csv_non_finite_cell(self, kwb, tmp_path: Path, edit, expected: str):
        runs = tmp_path / "runs"
        result = kwb("train", flowers(tmp_path, edit), "--runs-dir", runs)
        assert result.code == 2, result
        assert expected in result.err and str(tmp_path / "flowers.csv") in result.err
        assert no_run_written(runs)

    @pytest.mark.parametrize(
        "case, expected",
        [
            ("nan_x", "data.x: the input array (key 'x') holds NaN"),
            ("length", "x has 30 samples but y has 29"),
            ("label", "takes class numbers 0 to 2"),
            ("empty_val", "data.validation_split: asks for a validation split of 0.01"),
        ],
    )
    def test_npz_problems(self, kwb, tmp_path: Path, case: str, expected: str):
        rng = np.random.default_rng(1)
        x, y = rng.random((30, 4)), rng.integers(0, 3, 30)
        extra: dict[str, object] = {}
        if case == "nan_x":
            x[17, 3] = np.nan
        elif case == "length":
            y = y[:29]
        elif case == "label":
            y[3] = -2
            extra = {"validation_split": 0.2}
        elif case == "empty_val":
            extra = {"validation_split": 0.01}
        runs = tmp_path / "runs"
        result = kwb("train", npz_config(tmp_path, x, y, **extra), "--runs-dir", runs, "--json")
        assert result.code == 2, result
        assert expected in result.err and "Traceback" not in result.err
        assert result.out == ""  # --json: nothing but JSON on stdout, and here nothing at all
        assert no_run_written(runs)
