"""``kwb compare``: the differing settings with best and final metrics, sorted, as CSV, damaged runs included."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

CONFIG = {
    "name": "spirals",
    "data": {"source": "synthetic", "name": "spirals"},
    "model": {"input_shape": [2], "layers": [{"Dense": {"units": 16}}, {"Dense": {"units": 2}}]},
    "compile": {"optimizer": {"name": "adam", "learning_rate": 0.01}},
    "fit": {"epochs": 2, "batch_size": 32},
}


def write_run(root: Path, run_id: str, lr: float, units: int, val_losses: list[float], duration: float = 65.0) -> Path:
    """A finished run directory with config.yaml, status.json and history.csv."""
    path = root / run_id
    path.mkdir(parents=True)
    cfg = json.loads(json.dumps(CONFIG))
    cfg["compile"]["optimizer"]["learning_rate"] = lr
    cfg["model"]["layers"][0]["Dense"]["units"] = units
    (path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    lines = ["epoch,accuracy,learning_rate,loss,val_accuracy,val_loss"]
    lines += [f"{i},{1 - v},{lr},{v + 0.1},{0.9 - v},{v}" for i, v in enumerate(val_losses)]
    (path / "history.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (path / "model.keras").write_bytes(b"")  # a finished run without its model is damaged
    status = {"state": "finished", "name": run_id.split("-", 2)[-1], "epochs": 2, "epochs_done": len(val_losses), "duration_s": duration}
    (path / "status.json").write_text(json.dumps(status), encoding="utf-8")
    return path


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Three runs in ``tmp_path/runs`` that differ in the learning rate and the first layer's units."""
    root = tmp_path / "runs"
    write_run(root, "20260101-000001-base", 0.01, 16, [0.5, 0.4])
    write_run(root, "20260101-000002-slow", 0.001, 16, [0.6, 0.55])
    write_run(root, "20260101-000003-wide", 0.001, 64, [0.3, 0.35], duration=3725.0)
    return root


class TestCompareTable:
    """The table for people: exactly the differing settings, best and final validation metrics, epochs, duration."""

    def test_table(self, kwb, runs: Path) -> None:
        result = kwb("compare", "--runs-dir", runs)
        assert result.code == 0, result
        header, *rows = result.out.splitlines()
        assert header.split() == ["run", "state", "epochs", "lr", "layers[0].units", "best_val_loss", "best_val_accuracy",
                                  "final_val_loss", "final_val_accuracy", "duration"]  # fmt: skip
        assert [r.split() for r in rows] == [
            ["20260101-000001-base", "finished", "2/2", "0.01", "16", "0.4", "0.5", "0.4", "0.5", "1:05"],
            ["20260101-000002-slow", "finished", "2/2", "0.001", "16", "0.55", "0.35", "0.55", "0.35", "1:05"],
            ["20260101-000003-wide", "finished", "2/2", "0.001", "64", "0.3", "0.6", "0.35", "0.55", "1:02:05"],
        ]

    def test_runs_by_part_of_their_id(self, kwb, runs: Path) -> None:
        result = kwb("compare", "slow", "wide", "--runs-dir", runs)
        assert result.code == 0, result
        header, *rows = result.out.splitlines()
        assert "lr" not in header.split() and "layers[0].units" in header.split()  # lr is the same in these two
        assert [r.split()[0] for r in rows] == ["20260101-000002-slow", "20260101-000003-wide"]

    @pytest.mark.parametrize(("sort", "order"), [
        (["--sort", "val_loss"], "wide base slow"),
        (["--sort", "best_val_accuracy"], "wide base slow"),
        (["--sort", "val_loss", "--reverse"], "slow base wide"),
        (["--sort", "lr"], "slow wide base"),
        (["--sort", "duration", "--reverse"], "wide base slow"),
    ])  # fmt: skip
    def test_sort(self, kwb, runs: Path, sort: list[str], order: str) -> None:
        result = kwb("compare", "--runs-dir", runs, *sort)
        assert result.code == 0, result
        assert " ".join(r.split()[0].rsplit("-", 1)[1] for r in result.out.splitlines()[1:]) == order


class TestCompareCsv:
    """--csv: one row per run, settings under their key paths, every metric best and final."""

    def test_csv(self, kwb, runs: Path) -> None:
        result = kwb("compare", "--runs-dir", runs, "--csv", "--sort", "val_loss")
        assert result.code == 0, result
        rows = list(csv.DictReader(io.StringIO(result.out)))
        assert [r["run"] for r in rows] == ["20260101-000003-wide", "20260101-000001-base", "20260101-000002-slow"]
        wide = rows[0]
        assert wide["compile.optimizer.learning_rate"] == "0.001" and wide["model.layers[0].units"] == "64"
        assert float(wide["best_val_loss"]) == pytest.approx(0.3) and float(wide["final_val_loss"]) == pytest.approx(0.35)
        assert float(wide["best_loss"]) == pytest.approx(0.4) and float(wide["duration_s"]) == 3725.0
        assert (wide["epochs_done"], wide["epochs"], wide["damaged"]) == ("2", "2", "")


class TestCompareBadInput:
    """Bad input: one clear message, exit 2; a damaged run is shown with what can be read."""

    def test_unknown_run(self, kwb, runs: Path) -> None:
        result = kwb("compare", "base", "nosuch", "--runs-dir", runs)
        assert result.code == 2 and result.out == ""
        assert result.err == f"error:\n  RUN: no run 'nosuch' (looked for a run directory path and under {runs}/)\n"

    def test_unknown_sort_column(self, kwb, runs: Path) -> None:
        result = kwb("compare", "--runs-dir", runs, "--sort", "val_los")
        assert result.code == 2 and result.out == ""
        assert result.err.startswith("error:\n  --sort: no column 'val_los' (did you mean 'val_loss'?); columns: run, state")

    def test_sort_by_a_setting_every_run_shares(self, kwb, runs: Path) -> None:
        result = kwb("compare", "--runs-dir", runs, "--sort", "fit.epochs")
        assert result.code == 0 and "base" in result.out
        assert "every run has fit.epochs = 2: nothing to sort by" in result.err

    def test_damaged_run(self, kwb, runs: Path) -> None:
        torn = runs / "20260101-000004-torn"
        torn.mkdir()
        (torn / "config.yaml").write_text("model: {layers: [", encoding="utf-8")
        (torn / "status.json").write_text(json.dumps({"state": "failed", "best": {"val_loss": 0.45}, "epochs_done": 1}))
        result = kwb("compare", "--runs-dir", runs, "--sort", "lr")
        assert result.code == 0, result
        lines = result.out.splitlines()
        assert lines[4].split()[:5] == ["20260101-000004-torn", "failed", "1", "?", "?"]
        assert lines[4].split()[5] == "0.45"
        assert lines[-1] == ("20260101-000004-torn: damaged (config.yaml cannot be read; no epoch's metrics can be read): "
                             "shown with what could be read")  # fmt: skip

    def test_no_runs(self, kwb, tmp_path: Path) -> None:
        result = kwb("compare", "--runs-dir", tmp_path / "empty")
        assert (result.code, result.out) == (0, f"no runs in {tmp_path / 'empty'}/\n")


class TestCompareOnATerminal:
    """On a terminal narrower than the table, final values then further best values give way; never the sort column."""

    def test_narrow_terminal(self, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
        from engine.compare import compare_runs
        from tui.commands.compare import _print_table

        comp = compare_runs(sorted(runs.iterdir()))
        _print_table(comp, comp.rows, 110, keep="best_val_accuracy")
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split() == ["run", "state", "epochs", "lr", "layers[0].units", "best_val_loss", "best_val_accuracy", "duration"]
        assert max(map(len, lines[:4])) <= 110
        assert lines[-1] == "2 metric columns left out to fit the terminal: --csv has them all"


class TestCompareScriptRuns:
    """Script runs beside config runs on an 80-column terminal: short cells, the learning rate first, every line fits."""

    def test_eighty_columns(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        from mixed_runs import build_mixed_runs

        from engine.compare import compare_runs
        from tui.commands.compare import _print_table

        comp = compare_runs(sorted(build_mixed_runs(tmp_path).iterdir()))
        _print_table(comp, comp.rows, 80)
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split() == ["run", "state", "epochs", "optimizer.lr", "best_val_loss", "duration"]  # settings go from the last
        assert lines[1].split() == ["100001-spirals", "finished", "2/3", "0.01", "0.3", "0:20"]  # the date goes before a setting
        assert max(map(len, lines)) <= 80
        assert lines[-1] == "1 metric column and 3 settings left out to fit the terminal: --csv has them all"

    def test_csv_keeps_every_setting_whole(self, kwb, tmp_path: Path) -> None:
        from mixed_runs import build_mixed_runs

        result = kwb("compare", "--runs-dir", build_mixed_runs(tmp_path), "--csv")
        assert result.code == 0, result
        header = next(csv.reader(io.StringIO(result.out)))
        assert header[4:8] == ["compile.optimizer.learning_rate", "fit.batch_size", "args.lr", "args.epochs"]


class TestCompareIsLight:
    """kwb compare loads no TensorFlow, Keras or Textual (it reads files)."""

    def test_imports(self, runs: Path) -> None:
        import subprocess
        import sys

        code = (
            "import sys; from typer.testing import CliRunner; from tui.cli import app; "
            f"r = CliRunner().invoke(app, ['compare', '--runs-dir', {str(runs)!r}, '--csv']); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'textual'}))"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1] == "[]"
