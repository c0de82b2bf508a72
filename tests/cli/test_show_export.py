"""``kwb show RUN --csv`` (the history as CSV) and ``--smooth W`` (the curves smoothed as the app's charts smooth them)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from engine import events as ev
from engine.smoothing import debiased_ema

HISTORY = [
    {"epoch": 0, "accuracy": 0.61, "loss": 0.64, "val_accuracy": 0.66, "val_loss": 0.60},
    {"epoch": 1, "accuracy": 0.70, "loss": 0.52, "val_accuracy": 0.69, "val_loss": 0.58},
    {"epoch": 2, "accuracy": 0.68, "loss": 0.55, "val_accuracy": 0.75, "val_loss": 0.49},
    {"epoch": 3, "accuracy": 0.82, "loss": 0.41, "val_accuracy": 0.74, "val_loss": 0.51},
]


def make_run(root: Path, with_history: bool = True) -> Path:
    """A finished run: status.json, config.yaml, model.keras, events.jsonl, and history.csv unless told otherwise."""
    path = root / "runs" / "20260101-000001-spirals"
    path.mkdir(parents=True)
    (path / "config.yaml").write_text("name: spirals\n", encoding="utf-8")
    (path / "model.keras").write_bytes(b"")
    status = {"state": "finished", "name": "spirals", "epochs": 4, "epochs_done": 4, "duration_s": 12.0}
    (path / "status.json").write_text(json.dumps(status), encoding="utf-8")
    events = [ev.EpochEnded(epoch=row["epoch"], logs={k: v for k, v in row.items() if k != "epoch"}, t=1.0) for row in HISTORY]
    (path / "events.jsonl").write_text("".join(ev.encode(e) + "\n" for e in events), encoding="utf-8")
    if with_history:
        keys = list(HISTORY[0])
        lines = [",".join(keys)] + [",".join(str(row[k]) for k in keys) for row in HISTORY]
        (path / "history.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class TestShowCsv:
    """--csv: the per-epoch history to stdout, nothing else."""

    @pytest.mark.parametrize("with_history", [True, False], ids=["history.csv", "events only"])
    def test_csv(self, kwb, tmp_path: Path, with_history: bool) -> None:
        run = make_run(tmp_path, with_history)
        result = kwb("show", run.name, "--csv", "--runs-dir", run.parent)
        assert result.code == 0, result
        rows = list(csv.DictReader(io.StringIO(result.out)))
        assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
        assert [{k: float(v) for k, v in row.items()} for row in rows] == HISTORY

    def test_no_epochs(self, kwb, tmp_path: Path) -> None:
        run = make_run(tmp_path, with_history=False)
        (run / "events.jsonl").unlink()
        result = kwb("show", run.name, "--csv", "--runs-dir", run.parent)
        assert (result.code, result.out) == (0, "")
        assert "no epoch recorded" in result.err


class TestShowSmooth:
    """--smooth W: each curve smoothed over its raw values; a weight outside [0, 1) is bad input."""

    @pytest.mark.parametrize("weight", ["1", "-0.1", "1.5"])
    def test_bad_weight(self, kwb, tmp_path: Path, weight: str) -> None:
        run = make_run(tmp_path)
        result = kwb("show", run.name, "--smooth", weight, "--runs-dir", run.parent)
        assert result.code == 2 and result.out == ""
        assert result.err.startswith("error:\n  --smooth: must be at least 0 and less than 1")

    def test_plots_are_smoothed(self, capsys: pytest.CaptureFixture[str]) -> None:
        from tui.commands.runs import _plot_history

        plain = re.compile(r"\x1b\[[0-9;]*m")
        _plot_history(HISTORY)
        raw = plain.sub("", capsys.readouterr().out)
        _plot_history(HISTORY, 0.9)
        smooth = plain.sub("", capsys.readouterr().out)
        assert "(smooth 0.9)" in smooth and "(smooth" not in raw
        assert smooth.replace("  (smooth 0.9)", "") != raw  # the smoothed curves are drawn too

    def test_a_constant_curve_sits_on_its_own_value(self, capsys: pytest.CaptureFixture[str]) -> None:
        from tui.commands.runs import _plot_history

        _plot_history([{"epoch": e, "learning_rate": 0.005} for e in range(4)])
        plot = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
        assert "0.0050┤⠈⠉" in plot and "-1.0┤" not in plot, plot  # not plotext's -1 … 1 axis, drawn at 0.0

    def test_layers(self) -> None:
        from tui.commands.export import FAINT, LINES, curve_layers

        ys = [row["loss"] for row in HISTORY]
        assert curve_layers(ys, 1, 0.0) == [(ys, None, True)]
        (raw, raw_color, raw_label), (smooth, color, label) = curve_layers(ys, 1, 0.6)
        assert (raw, raw_color, raw_label) == (ys, FAINT[1], False)
        assert smooth == pytest.approx(debiased_ema(ys, 0.6)) and smooth != pytest.approx(ys)
        assert (color, label) == (LINES[1], True)
