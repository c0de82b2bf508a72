"""``kwb train`` on a config whose metric does not fit the labels: the cause and the fix, not a stack dump."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
SMALL = ["--set", "data.samples=200", "--set", "fit.epochs=2", "--set", "callbacks.early_stopping=null",
         "--set", "callbacks.reduce_lr_on_plateau=null"]  # fmt: skip


class TestFailureCause:
    """A metric that does not fit the labels: the cause and what to change, never a stack dump."""

    def test_auc_on_class_index_labels(self, kwb, tmp_path: Path):
        # One batch runs before training (engine.batch_probe), so this is bad input, refused before any run
        # directory exists, with the hint a failed fit gives (the fit-time path: tests/engine/test_diagnose.py).
        result = kwb("train", SPIRALS, *SMALL, "--set", "compile.metrics=[accuracy, auc]")
        assert result.code == 2, result
        assert result.err.strip().splitlines() == [
            f"error in {SPIRALS}:",
            "  compile.metrics[1]: auc compares the labels with each of the model's 2 outputs, but the labels are "
            "class indices (one per sample): remove it from compile.metrics, or use one-hot labels (data.one_hot: "
            "true with loss categorical_crossentropy)",
        ]
        assert "Graph execution error" not in result.out + result.err and 'File "' not in result.out + result.err
        runs = tmp_path / "runs"
        assert not runs.exists() or not any(runs.iterdir())
