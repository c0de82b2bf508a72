"""``kwb train`` on a config whose metric does not fit the labels: the cause and the fix, not a stack dump."""

from __future__ import annotations

from pathlib import Path

from engine.runs import read_status

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"
SMALL = ["--set", "data.samples=200", "--set", "fit.epochs=2", "--set", "callbacks.early_stopping=null",
         "--set", "callbacks.reduce_lr_on_plateau=null"]  # fmt: skip


class TestFailureCause:
    """The summary of a failed run is its cause, what to change and where the traceback is."""

    def test_auc_on_class_index_labels(self, kwb, tmp_path: Path):
        result = kwb("train", SPIRALS, *SMALL, "--set", "compile.metrics=[accuracy, auc]")
        assert result.code == 1, result
        (run,) = [p.resolve() for p in (tmp_path / "runs").iterdir()]
        assert result.err.strip().splitlines() == [
            "training failed: InvalidArgumentError: data.shape = [32] does not start with segment_ids.shape = [64]",
            "  auc compares the labels with each of the model's 2 outputs, but the labels are class indices (one per "
            "sample): remove it from compile.metrics, or use one-hot labels (data.one_hot: true with loss "
            "categorical_crossentropy)",
            f"  details: {run}/error.txt, {run}/train.log",
        ]
        assert "Graph execution error" not in result.out + result.err and 'File "' not in result.out + result.err
        assert "failed after 0 epochs" in result.out
        assert "Graph execution error" in (run / "error.txt").read_text()
        assert read_status(run)["error"].startswith("InvalidArgumentError: data.shape = [32]")
